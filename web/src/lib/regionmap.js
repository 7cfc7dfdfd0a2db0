// The map of a region's children coloured by a measure, with click to drill
// down; where there is no geometry (below the counties) a ranked bar chart of
// the same figures, also clickable.

import { chart, draw, echarts, regionMap, childOfFeature, PALETTE } from './charts.js';
import { fmtNumber, fmtPercent, t } from '../i18n/index.js';

const RISK_VALUE = { low: 1, medium: 2, high: 3 };

function formatValue(kind, v) {
  if (v === null || v === undefined) return t('common.no_data');
  if (kind === 'risk') return t(['risk.none', 'risk.low', 'risk.medium', 'risk.high'][v] || 'risk.none');
  if (kind === 'ratio') return fmtPercent(v);
  return fmtNumber(v);
}

function visualMap(kind, max) {
  if (kind === 'risk') {
    return {
      type: 'piecewise', left: 8, bottom: 8, orient: 'vertical',
      pieces: [
        { value: 3, label: t('risk.high'), color: PALETTE.risk.high },
        { value: 2, label: t('risk.medium'), color: PALETTE.risk.medium },
        { value: 1, label: t('risk.low'), color: PALETTE.risk.low },
        { value: 0, label: t('risk.none'), color: PALETTE.risk.none },
      ],
    };
  }
  if (kind === 'ratio') {
    return {
      type: 'continuous', min: 0, max: 1, left: 8, bottom: 8, calculable: false,
      inRange: { color: ['#c62828', '#ffb74d', '#fff59d', '#66bb6a', '#2e7d32'] },
      formatter: (v) => fmtPercent(v),
    };
  }
  return {
    type: 'continuous', min: 0, max: Math.max(1, max), left: 8, bottom: 8, calculable: false,
    text: [fmtNumber(Math.max(1, max)), '0'],
    inRange: { color: PALETTE.red },
    formatter: (v) => fmtNumber(Math.round(v)),
  };
}

/**
 * Draw the children of `region` into `el`.
 * - children: [{code, name, level}]
 * - value(child) → number | null; kind: 'count' | 'ratio' | 'risk'
 * - onClick(child) when a child is chosen (null: not clickable)
 * Resolves once drawn, with {chart, geometry: bool}.
 */
export async function drawRegionMap(el, { region, children, value, kind = 'count', measure, onClick }) {
  const mapName = await regionMap(region);
  const c = chart(el);
  c.off('click');
  const values = new Map(children.map((ch) => [ch.code, kind === 'risk' ? (RISK_VALUE[value(ch)] || 0) : value(ch)]));
  const max = Math.max(0, ...[...values.values()].filter((v) => typeof v === 'number'));
  const geo = mapName ? echarts.getMap(mapName).geoJSON : null;
  const owner = new Map();
  const label = new Map();
  const data = [];
  for (const f of geo ? geo.features : []) {
    const code = f.properties.name;
    if (!code) continue;
    const child = childOfFeature(code, children);
    if (!child) continue;
    owner.set(code, child);
    // a feature that is only part of a child (仙桃市 in 省直辖县级行政区划) is labelled with its own name
    label.set(code, code === child.code || !f.properties.n ? child.name : f.properties.n);
    const v = values.get(child.code);
    data.push({ name: code, value: v === null || v === undefined ? NaN : v });
  }
  if (data.length) {
    const few = data.length <= 24;
    const drawing = draw(c, {
      tooltip: {
        trigger: 'item', renderMode: 'richText',
        formatter: (p) => {
          const child = owner.get(p.name);
          return child ? `${child.name}\n${measure}: ${formatValue(kind, values.get(child.code))}` : '';
        },
      },
      visualMap: visualMap(kind, max),
      animation: false,
      series: [{
        type: 'map', map: mapName, roam: false, selectedMode: false,
        layoutCenter: ['50%', '50%'], layoutSize: '95%',
        label: {
          show: few, fontSize: 10, color: '#222',
          formatter: (p) => label.get(p.name) || '',
        },
        emphasis: {
          label: { show: true, formatter: (p) => label.get(p.name) || '' },
          itemStyle: { areaColor: '#ffd54f' },
        },
        itemStyle: { borderColor: '#fff', borderWidth: 0.6, areaColor: '#eeeeee' },
        data,
      }],
    });
    if (onClick) {
      c.on('click', (p) => {
        const child = owner.get(p.name);
        if (child) onClick(child);
      });
    }
    // where a child region is on the page (for the browser tests and for keyboard help)
    window.__fk.mapPoint = (childCode) => {
      const f = geo.features.find((x) => owner.get(x.properties.name) && owner.get(x.properties.name).code === childCode && x.properties.cp);
      if (!f || c.isDisposed()) return null;
      const [x, y] = c.convertToPixel({ seriesIndex: 0 }, f.properties.cp);
      const box = el.getBoundingClientRect();
      return { x: box.left + x, y: box.top + y };
    };
    await drawing;
    return { chart: c, geometry: true };
  }
  // no geometry this deep: the children ranked
  const rows = children
    .map((ch) => ({ ch, v: values.get(ch.code) }))
    .sort((a, b) => (b.v ?? -1) - (a.v ?? -1) || a.ch.code.localeCompare(b.ch.code))
    .slice(0, 40)
    .reverse();
  const drawing = draw(c, {
    tooltip: {
      trigger: 'item', renderMode: 'richText',
      formatter: (p) => `${rows[p.dataIndex].ch.name}\n${measure}: ${formatValue(kind, rows[p.dataIndex].v)}`,
    },
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', max: kind === 'ratio' ? 1 : null, minInterval: kind === 'count' ? 1 : null },
    yAxis: { type: 'category', data: rows.map((r) => r.ch.name), axisLabel: { fontSize: 11 } },
    visualMap: { ...visualMap(kind, max), show: false, dimension: 0 },
    animation: false,
    series: [{ type: 'bar', data: rows.map((r) => r.v ?? 0), barMaxWidth: 18 }],
  });
  if (onClick) {
    c.on('click', (p) => {
      const row = rows[p.dataIndex];
      if (row) onClick(row.ch);
    });
  }
  await drawing;
  return { chart: c, geometry: false };
}
