// The transmission chain of a case (GET /api/v1/cases/{id}/chain?depth=K) as
// an ECharts force-directed graph: cases round, close contacts square,
// coloured by classification; people of other counties grey and labelled
// by their id only (the API sends no personal data for them). Used on the
// case page and by the dashboard's clusters card.

import { h, mount } from '../lib/dom.js';
import { get, ApiError } from '../lib/api.js';
import { chart, draw, PALETTE } from '../lib/charts.js';
import { t, tOr, fmtNumber } from '../i18n/index.js';

export const DEPTHS = ['1', '2', '3', 'all'];

const CATEGORY = ['confirmed', 'suspected', 'excluded', 'contact', 'other'];
const COLOR = {
  confirmed: PALETTE.line,
  suspected: '#ef6c00',
  excluded: '#7cb342',
  contact: PALETTE.blue,
  other: '#bdbdbd',
};
const SYMBOL = { contact: 'rect' };

function categoryOf(n) {
  if (!n.visible) return 'other';
  if (n.kind === 'contact') return 'contact';
  return CATEGORY.includes(n.classification) ? n.classification : 'suspected';
}

function categoryLabel(c) {
  if (c === 'contact') return t('chain.contact');
  if (c === 'other') return t('chain.other');
  return t('chain.case.' + c);
}

function tooltipText(n) {
  const lines = [n.visible && n.name ? `${n.id} ${n.name}` : n.id];
  lines.push(n.kind === 'contact' ? t('chain.contact') : tOr('class.' + n.classification, n.classification || ''));
  lines.push(`${t('cases.col.home')}: ${n.region} · ${t('cases.col.unit')}: ${n.reporting_unit}`);
  if (n.onset) lines.push(`${t('cases.col.onset')}: ${n.onset}`);
  if (n.report_date) lines.push(`${t('cases.col.report')}: ${n.report_date}`);
  if (n.last_exposure) lines.push(`${t('chain.edge.contact')}: ${n.last_exposure}`);
  return lines.join('\n');
}

/** The ECharts option of a chain. */
export function chainOption(c) {
  const many = c.nodes.length > 80;
  const data = c.nodes.map((n) => {
    const cat = categoryOf(n);
    const root = n.id === c.root;
    const base = n.kind === 'contact' ? 11 : 20;
    return {
      id: n.id,
      name: n.id,
      category: CATEGORY.indexOf(cat),
      symbol: SYMBOL[n.kind] || 'circle',
      symbolSize: root ? base + 14 : Math.max(base - 2 * n.distance, 8),
      itemStyle: root ? { borderColor: '#111', borderWidth: 3 } : undefined,
      label: {
        show: root || !many || (n.kind === 'case' && n.distance <= 1),
        formatter: n.visible && n.name ? `${n.id}\n${n.name}` : n.id,
        color: n.visible ? '#222' : '#888',
        fontSize: 10,
      },
      tooltip: { formatter: tooltipText(n) },
      _visible: n.visible,
      _kind: n.kind,
    };
  });
  const links = c.edges.map((e) => ({
    source: e.from,
    target: e.to,
    lineStyle: e.kind === 'contact'
      ? { type: 'dashed', color: '#90a4ae', width: 1 }
      : { type: 'solid', color: '#b0504a', width: 1.6 },
    tooltip: { formatter: `${e.from} → ${e.to}\n${t('chain.edge.' + e.kind)}${e.date ? ' · ' + e.date : ''}` },
  }));
  return {
    animation: false,
    tooltip: { renderMode: 'richText', confine: true },
    legend: { top: 0, data: CATEGORY.map(categoryLabel) },
    series: [{
      type: 'graph',
      layout: 'force',
      top: 40,
      bottom: 8,
      roam: true,
      draggable: false,
      // an even start (not a random one): the same chain looks the same each time
      // the more people, the closer together, so that a chain fits its box
      zoom: c.nodes.length > 40 ? 0.75 : c.nodes.length > 20 ? 0.85 : 1,
      force: {
        initLayout: 'circular', repulsion: many ? 60 : c.nodes.length > 20 ? 150 : 240, gravity: 0.1,
        edgeLength: many ? [30, 80] : [40, 100], layoutAnimation: false, friction: 0.2,
      },
      categories: CATEGORY.map((cat) => ({
        name: categoryLabel(cat),
        itemStyle: { color: COLOR[cat] },
        symbol: SYMBOL[cat] || 'circle',
      })),
      edgeSymbol: ['none', 'arrow'],
      edgeSymbolSize: [0, 6],
      label: { position: 'right' },
      emphasis: { focus: 'adjacency' },
      data,
      links,
    }],
  };
}

/**
 * Draw the chain of `caseId` into `box`, with a depth choice above it.
 * `onOpen(id)`: called when a visible case is clicked. Resolves with the
 * chain once drawn (or null when it could not be loaded).
 */
export function chainView(box, caseId, { depth = '2', onOpen, testid = 'chain', missing = null } = {}) {
  const select = h('select', { class: 'inline', id: `${testid}-depth`, 'data-testid': `${testid}-depth` },
    DEPTHS.map((d) => h('option', { value: d, selected: d === depth }, d === 'all' ? t('chain.depth.all') : d)));
  const summary = h('p', { class: 'muted small', 'data-testid': `${testid}-summary` }, t('dash.loading'));
  const sources = h('p', { class: 'small', 'data-testid': `${testid}-source` });
  const el = h('div', { class: 'chart graph', 'data-testid': `${testid}-chart` });
  mount(box,
    h('div', { class: 'row' }, h('label', { for: `${testid}-depth` }, t('chain.depth')), select),
    summary, sources, el,
    h('p', { class: 'muted small' }, t('chain.hint')));

  async function load(d) {
    el.dataset.ready = 'false';
    summary.textContent = t('dash.loading');
    let c;
    try {
      c = await get(`/api/v1/cases/${encodeURIComponent(caseId)}/chain`, d === 'all' ? {} : { depth: d });
    } catch (e) {
      summary.className = 'status bad';
      summary.textContent = e instanceof ApiError && e.status === 404 ? missing || t('case.not_found') : t('dash.failed', { message: e.message });
      el.dataset.ready = 'true';
      return null;
    }
    summary.className = 'muted small';
    summary.textContent = t('chain.summary', {
      nodes: fmtNumber(c.nodes.length),
      links: fmtNumber(c.edges.length),
      generation: c.generation === null || c.generation === undefined ? t('chain.generation.unknown') : c.generation,
      size: fmtNumber(c.cluster.size),
      cases: fmtNumber(c.cluster.cases),
      contacts: fmtNumber(c.cluster.contacts),
    }) + (c.truncated ? ' ' + t('chain.truncated') : '');
    sources.textContent = c.source_chain.length > 1 ? t('chain.source', { chain: c.source_chain.join(' ← ') }) : '';
    const ch = chart(el);
    ch.off('click');
    ch.on('click', (p) => {
      if (p.dataType === 'node' && p.data && p.data._visible && p.data._kind === 'case' && onOpen) onOpen(p.data.id);
    });
    await draw(ch, chainOption(c));
    el.dataset.nodes = String(c.nodes.length);
    el.dataset.edges = String(c.edges.length);
    el.dataset.depth = d;
    el.dataset.ready = 'true';
    return c;
  }
  select.addEventListener('change', () => load(select.value));
  return load(depth);
}
