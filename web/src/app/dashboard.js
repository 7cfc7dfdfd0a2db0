// The command dashboard of a region (/app/dashboard?region=&date=&measure=):
// headline figures as in the bulletin with the day's change; the child
// regions on a map coloured by a chosen measure, click to go down, a way back
// up; the epidemic curve with Rt and forecast bands; reporting completeness
// with the missing and late units; open alerts; county risk levels; the
// largest clusters touching the region, each opening its transmission chain;
// for the command levels, "publish" (the day and region shown, a revision with its reason).
//
// Every figure comes from the API in one round of parallel calls; each card
// shows its own error without holding the others back.

import { h, mount } from '../lib/dom.js';
import { card } from '../lib/layout.js';
import { get, session } from '../lib/api.js';
import { chart, draw, codePrefix, prefetchMap, PALETTE } from '../lib/charts.js';
import { drawRegionMap } from '../lib/regionmap.js';
import { t, tOr, fmtNumber, fmtSigned, fmtPercent, fmtDateTime } from '../i18n/index.js';
import { appFrame, navigate, today, commands } from './nav.js';
import { publishControl } from './tasks.js';
import { chainView } from './chain.js';

const MEASURES = ['new_confirmed', 'new14', 'cum_confirmed', 'risk', 'completeness'];
const HEADLINE = [
  ['cum_confirmed', 'dash.cum_confirmed'],
  ['new_confirmed', 'dash.new_confirmed'],
  ['current_severe', 'dash.current_severe'],
  ['cum_deaths', 'dash.cum_deaths'],
  ['cum_recovered', 'dash.cum_recovered'],
  ['current_suspected', 'dash.current_suspected'],
  ['current_observation', 'dash.current_observation'],
];
const LEVEL_ORDER = ['nation', 'province', 'city', 'county', 'township', 'village', 'grid'];
const RISK_RANK = { low: 1, medium: 2, high: 3 };
const ALERT_LIMIT = 50;

function addDays(date, n) {
  const d = new Date(date + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Settle a promise into {ok, value} or {ok: false, error}. */
const settle = (p) => p.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));

/** Everything the dashboard shows, fetched at once; kept for re-rendering (a language switch). */
let cache = { key: null, data: null };

async function fetchAll(code, date, form) {
  const from = addDays(date, -59);
  const [overview, curve, rt, forecast, completeness, alerts, risk] = await Promise.all([
    settle(get('/api/v1/dashboard', { region: code, date })),
    settle(get('/api/v1/analytics/curve', { region: code, from, to: date })),
    settle(get('/api/v1/analytics/rt', { region: code, from, to: date })),
    settle(get('/api/v1/analytics/forecast', { region: code, date, horizon: 14, paths: 500 })),
    settle(get('/api/v1/completeness', { form, region: code, date, limit: 50 })),
    settle(get('/api/v1/analytics/alerts', { region: code, status: 'open', limit: ALERT_LIMIT })),
    settle(get('/api/v1/analytics/risk', { region: code, date })),
  ]);
  return { overview, curve, rt, forecast, completeness, alerts, risk, clusters: null };
}

/**
 * The form whose completeness to show before the region's level is known:
 * counties file the epidemic report, villages the grid report. A code of six
 * digits ending in 00 is above the counties (000000, 420000, 420100).
 */
function defaultForm(code) {
  return /^\d{4}00$/.test(code) ? 'epidemic' : 'grid';
}

export async function dashboardView(params) {
  window.__fk.dashboardStart = performance.now();
  performance.mark('fk:start');
  const main = appFrame('dashboard');
  const user = session().user;
  const code = params.get('region') || user.region_code;
  const measure = MEASURES.includes(params.get('measure')) ? params.get('measure') : 'new_confirmed';
  mount(main, h('p', { class: 'muted', 'data-testid': 'dash-loading' }, t('dash.loading')));
  prefetchMap(code);
  let cal;
  try {
    cal = await today();
  } catch (e) {
    mount(main, card(null, 'status bad', t('dash.failed', { message: e.message })));
    return;
  }
  const date = params.get('date') || cal.yesterday;
  const form = params.get('form') || defaultForm(code);
  const key = `${code}|${date}|${form}`;
  if (cache.key !== key) {
    cache = { key, data: await fetchAll(code, date, form) };
  }
  performance.mark('fk:data');
  render(main, { code, date, measure, form, cal, user, data: cache.data });
  performance.mark('fk:dom');
}

function setParams(changes) {
  const p = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined) p.delete(k);
    else p.set(k, v);
  }
  navigate('/app/dashboard?' + p.toString());
}

function failed(result) {
  return h('p', { class: 'status bad' }, t('dash.failed', { message: result.error.message }));
}

function headline(overview) {
  const { day, previous } = overview.headline;
  return h('div', { class: 'figures', 'data-testid': 'headline' },
    HEADLINE.map(([field, label]) => {
      const change = day[field] - previous[field];
      return h('div', { class: 'figure' },
        h('div', { class: 'value' }, fmtNumber(day[field])),
        h('div', { class: 'label' }, t(label)),
        h('div', { class: 'change ' + (change > 0 ? 'up' : change < 0 ? 'down' : '') }, t('dash.change', { change: fmtSigned(change) })));
    }));
}

function crumbs(overview, user) {
  // from the user's home region down: above it is not theirs to see
  const lineage = overview.lineage;
  const start = Math.max(0, lineage.findIndex((r) => r.code === user.region_code));
  const shown = lineage.slice(start);
  const parts = [];
  shown.forEach((r, i) => {
    if (i > 0) parts.push(h('span', { class: 'sep', 'aria-hidden': 'true' }, '›'));
    parts.push(i === shown.length - 1
      ? h('span', { 'aria-current': 'page', 'data-testid': 'crumb-current' }, r.name)
      : h('a', { href: `/app/dashboard?region=${r.code}`, 'data-testid': `crumb-${r.code}` }, r.name));
  });
  return h('nav', { class: 'crumbs', 'aria-label': 'regions', 'data-testid': 'crumbs' }, parts);
}

/** A child's value for the chosen measure. */
function measureOf(measure, data) {
  const risk = data.risk.ok ? data.risk.value.counties : [];
  const byChild = data.completeness.ok ? new Map(data.completeness.value.by_child.map((c) => [c.code, c])) : new Map();
  switch (measure) {
    case 'new_confirmed':
      return { kind: 'count', value: (c) => (c.day ? c.day.new_confirmed : 0) };
    case 'new14':
      return { kind: 'count', value: (c) => c.new14 };
    case 'cum_confirmed':
      return { kind: 'count', value: (c) => c.cumulative.new_confirmed };
    case 'risk':
      return {
        kind: 'risk',
        value: (c) => {
          const prefix = codePrefix(c.code, c.level);
          let best = null;
          for (const r of risk) {
            if (r.code === c.code || (c.level !== 'county' && r.code.startsWith(prefix))) {
              if (!best || RISK_RANK[r.level] > RISK_RANK[best]) best = r.level;
            }
          }
          return best;
        },
      };
    case 'completeness':
      return {
        kind: 'ratio',
        value: (c) => {
          const n = byChild.get(c.code);
          return n && n.expected ? n.filed / n.expected : null;
        },
      };
    default:
      return { kind: 'count', value: () => null };
  }
}

function curveOption(data, date) {
  const curve = data.curve.ok ? data.curve.value : [];
  const rt = data.rt.ok ? data.rt.value : [];
  const fc = data.forecast.ok ? data.forecast.value.cases : [];
  const dates = curve.map((d) => d.date);
  for (const f of fc) if (!dates.includes(f.date)) dates.push(f.date);
  const at = new Map(dates.map((d, i) => [d, i]));
  const col = (rows, f) => {
    const out = dates.map(() => null);
    for (const r of rows) if (at.has(r.date)) out[at.get(r.date)] = f(r);
    return out;
  };
  const round = (x) => (x === null || x === undefined ? null : Math.round(x * 100) / 100);
  const shownRt = rt.filter((r) => !r.too_uncertain);
  const series = [
    { name: t('dash.curve.new'), type: 'bar', data: col(curve, (d) => d.count), itemStyle: { color: PALETTE.line }, barMaxWidth: 14 },
    { name: t('dash.curve.avg7'), type: 'line', data: col(curve, (d) => round(d.average7)), showSymbol: false, lineStyle: { color: '#333', width: 2 }, itemStyle: { color: '#333' } },
    // forecast bands: a transparent base and the band's height stacked on it
    { name: 'b90', type: 'line', stack: 'f90', data: col(fc, (f) => round(f.lower90)), lineStyle: { opacity: 0 }, showSymbol: false, silent: true, tooltip: { show: false } },
    { name: t('dash.curve.band90'), type: 'line', stack: 'f90', data: col(fc, (f) => round(f.upper90 - f.lower90)), lineStyle: { opacity: 0 }, showSymbol: false, areaStyle: { color: 'rgba(21,101,192,0.15)' }, itemStyle: { color: 'rgba(21,101,192,0.3)' } },
    { name: 'b50', type: 'line', stack: 'f50', data: col(fc, (f) => round(f.lower50)), lineStyle: { opacity: 0 }, showSymbol: false, silent: true, tooltip: { show: false } },
    { name: t('dash.curve.band50'), type: 'line', stack: 'f50', data: col(fc, (f) => round(f.upper50 - f.lower50)), lineStyle: { opacity: 0 }, showSymbol: false, areaStyle: { color: 'rgba(21,101,192,0.3)' }, itemStyle: { color: 'rgba(21,101,192,0.5)' } },
    { name: t('dash.curve.forecast'), type: 'line', data: col(fc, (f) => round(f.median)), showSymbol: false, lineStyle: { color: PALETTE.blue, type: 'dashed', width: 2 }, itemStyle: { color: PALETTE.blue } },
    // Rt below
    { name: 'rtlow', type: 'line', xAxisIndex: 1, yAxisIndex: 1, stack: 'rt', data: col(shownRt, (r) => round(r.q025)), lineStyle: { opacity: 0 }, showSymbol: false, silent: true, tooltip: { show: false } },
    { name: t('dash.curve.rt_band'), type: 'line', xAxisIndex: 1, yAxisIndex: 1, stack: 'rt', data: col(shownRt, (r) => round(r.q975 - r.q025)), lineStyle: { opacity: 0 }, showSymbol: false, areaStyle: { color: 'rgba(183,28,28,0.18)' }, itemStyle: { color: 'rgba(183,28,28,0.3)' } },
    {
      name: t('dash.curve.rt'), type: 'line', xAxisIndex: 1, yAxisIndex: 1, data: col(shownRt, (r) => round(r.mean)), showSymbol: false,
      lineStyle: { color: PALETTE.line, width: 2 }, itemStyle: { color: PALETTE.line },
      markLine: { silent: true, symbol: 'none', lineStyle: { color: '#555', type: 'dotted' }, label: { formatter: 'Rt = 1' }, data: [{ yAxis: 1 }] },
    },
  ];
  const hidden = new Set(['b90', 'b50', 'rtlow']);
  return {
    animation: false,
    tooltip: { trigger: 'axis', renderMode: 'richText', formatter: (ps) => {
      const lines = [ps[0] ? ps[0].axisValue : ''];
      for (const p of ps) {
        if (hidden.has(p.seriesName) || p.value === null || p.value === undefined || Number.isNaN(p.value)) continue;
        if (p.seriesName === t('dash.curve.band90') || p.seriesName === t('dash.curve.band50') || p.seriesName === t('dash.curve.rt_band')) continue;
        lines.push(`${p.seriesName}: ${fmtNumber(p.value)}`);
      }
      return lines.join('\n');
    } },
    legend: { top: 0, type: 'scroll', data: series.filter((s) => !hidden.has(s.name)).map((s) => s.name) },
    axisPointer: { link: [{ xAxisIndex: 'all' }] },
    grid: [
      { left: 48, right: 16, top: 48, height: '48%' },
      { left: 48, right: 16, top: '70%', bottom: 28 },
    ],
    xAxis: [
      { type: 'category', data: dates, axisLabel: { show: false }, gridIndex: 0 },
      { type: 'category', data: dates, gridIndex: 1, axisLabel: { formatter: (v) => v.slice(5) } },
    ],
    yAxis: [
      { type: 'value', gridIndex: 0, minInterval: 1 },
      { type: 'value', gridIndex: 1, name: 'Rt', min: 0, max: (v) => Math.max(2, Math.ceil(v.max)) },
    ],
    series,
    // the day shown
    graphic: [],
    title: shownRt.length ? undefined : { text: t('dash.curve.rt_none'), left: 'center', top: '78%', textStyle: { fontSize: 12, color: '#777', fontWeight: 'normal' } },
    _date: date,
  };
}

function unitList(units, total, testid) {
  const shown = units.slice(0, 30);
  return h('div', null,
    shown.length ? h('ul', { class: 'plain units', 'data-testid': testid }, shown.map((u) => h('li', null, u.name, ' ', h('span', { class: 'muted small' }, u.code, u.filed_at ? ' · ' + fmtDateTime(u.filed_at) : ''))))
      : h('p', { class: 'muted', 'data-testid': testid }, t('dash.none')),
    total > shown.length ? h('p', { class: 'muted small' }, t('dash.more', { count: fmtNumber(total - shown.length) })) : null);
}

function meter(x) {
  const tenth = Math.max(0, Math.min(10, Math.round((x || 0) * 10)));
  return h('div', { class: `meter w${tenth}`, role: 'img', 'aria-label': fmtPercent(x) }, h('div'));
}

function completenessCard(data, form) {
  const sel = h('select', { class: 'inline', id: 'completeness-form', onchange: (e) => setParams({ form: e.target.value }) },
    ['epidemic', 'grid'].map((f) => h('option', { value: f, selected: f === form }, t('form.' + f))));
  const head = h('div', { class: 'row' }, h('label', { for: 'completeness-form' }, t('dash.completeness.form')), sel);
  if (!data.completeness.ok) return card(t('dash.completeness'), 'span-5', head, failed(data.completeness));
  const c = data.completeness.value;
  const missingCount = c.expected - c.filed;
  const lateCount = c.filed - c.on_time;
  return card(t('dash.completeness'), 'span-5', head,
    h('p', { 'data-testid': 'completeness-summary' }, t('dash.completeness.summary', { expected: fmtNumber(c.expected), filed: fmtNumber(c.filed), on_time: fmtNumber(c.on_time) })),
    h('div', { class: 'row spread small' }, h('span', null, t('dash.completeness.rate')), h('strong', null, fmtPercent(c.completeness))),
    meter(c.completeness),
    h('div', { class: 'row spread small' }, h('span', null, t('dash.completeness.timeliness')), h('strong', null, fmtPercent(c.timeliness))),
    meter(c.timeliness),
    h('p', { class: 'muted small' }, t('dash.completeness.deadline', { deadline: fmtDateTime(c.deadline) })),
    h('h3', null, t('dash.missing', { count: fmtNumber(missingCount) })),
    unitList(c.missing, missingCount, 'missing-units'),
    h('h3', null, t('dash.late', { count: fmtNumber(lateCount) })),
    unitList(c.late, lateCount, 'late-units'));
}

function alertsCard(data, names) {
  if (!data.alerts.ok) return card(t('dash.alerts'), 'span-7', failed(data.alerts));
  const alerts = data.alerts.value;
  const shown = alerts.slice(0, 10);
  return card(t('dash.alerts'), 'span-7',
    alerts.length
      ? h('ul', { class: 'plain', 'data-testid': 'alerts' }, shown.map((a) => h('li', null, t('dash.alert.line', {
        region: names.get(a.region_code) || a.region_code,
        field: tOr('field.' + a.field, a.field),
        observed: fmtNumber(a.observed),
        expected: fmtNumber(Math.round(a.expected * 10) / 10),
        method: a.methods.join(', '),
        from: a.first_day,
        to: a.last_day,
      }))))
      : h('p', { class: 'muted', 'data-testid': 'alerts' }, t('dash.alerts.none')),
    alerts.length > shown.length
      ? h('p', { class: 'muted small' }, t('dash.more', { count: fmtNumber(alerts.length - shown.length) + (alerts.length >= ALERT_LIMIT ? '+' : '') }))
      : null);
}

function riskCard(data) {
  if (!data.risk.ok) return card(t('dash.risk'), 'span-5', failed(data.risk));
  const r = data.risk.value;
  const notable = r.counties.filter((c) => c.level !== 'low')
    .sort((a, b) => RISK_RANK[b.level] - RISK_RANK[a.level] || b.new_in_window - a.new_in_window)
    .slice(0, 12);
  return card(t('dash.risk'), 'span-5',
    h('p', { 'data-testid': 'risk-tally' }, t('dash.risk.tally', { high: fmtNumber(r.high), medium: fmtNumber(r.medium), low: fmtNumber(r.low) })),
    h('ul', { class: 'plain' }, notable.map((c) => h('li', null,
      h('span', { class: `badge ${c.level}` }, t('risk.' + c.level)), ' ', c.name, ' ',
      h('span', { class: 'muted small' }, fmtNumber(c.new_in_window))))));
}

const CLUSTERS_SHOWN = 8;

/**
 * The largest clusters with a member in the region (the API gives those of
 * the user's jurisdiction), filled in once the charts are drawn: the list is
 * not on the way to the dashboard's first view.
 */
function clustersCard() {
  const body = h('div', { 'data-testid': 'clusters-card' }, h('p', { class: 'muted' }, t('dash.loading')));
  return { el: card(t('dash.clusters'), 'span-7', body), body };
}

async function fillClusters(body, data, region, names) {
  if (!data.clusters) data.clusters = await settle(get('/api/v1/clusters', { limit: 50 }));
  if (!body.isConnected) return;
  if (!data.clusters.ok) {
    mount(body, failed(data.clusters));
    return;
  }
  const prefix = codePrefix(region.code, region.level);
  const mine = data.clusters.value
    .filter((c) => region.level === 'nation' || c.regions.some((r) => r.startsWith(prefix)))
    .slice(0, CLUSTERS_SHOWN);
  const box = h('div', { class: 'cluster-chain', 'data-testid': 'cluster-chain-box' });
  const open = (c, button) => {
    for (const b of body.querySelectorAll('[data-testid="clusters"] button')) b.setAttribute('aria-pressed', 'false');
    button.setAttribute('aria-pressed', 'true');
    chainView(box, c.open_with, {
      depth: '2', testid: 'cluster-chain', missing: t('dash.cluster.hidden'),
      onOpen: (id) => navigate(`/app/cases/${encodeURIComponent(id)}`),
    });
  };
  if (!mine.length) {
    mount(body, h('p', { class: 'muted', 'data-testid': 'clusters' }, t('dash.clusters.none')));
    return;
  }
  mount(body,
    h('p', { class: 'muted small' }, t('dash.cluster.hint')),
    h('ul', { class: 'plain clusters', 'data-testid': 'clusters' }, mine.map((c, i) => h('li', null, h('button', {
      type: 'button', class: 'linklike', 'aria-pressed': 'false', 'data-testid': `cluster-${i}`,
      disabled: !c.open_with,
      onclick: (e) => open(c, e.currentTarget),
    }, t('dash.cluster.line', {
      size: fmtNumber(c.size), cases: fmtNumber(c.cases), contacts: fmtNumber(c.contacts),
      from: c.first_day || '–', to: c.last_day || '–', regions: fmtNumber(c.regions.length),
      index: c.index_cases.join(', ') || '–',
    }), c.regions.length
      ? h('span', { class: 'muted small' }, ' · ' + c.regions.slice(0, 6).map((r) => names.get(r) || r).join('、') + (c.regions.length > 6 ? '…' : ''))
      : null)))),
    box);
}

function render(main, { code, date, measure, form, cal, user, data }) {
  const { overview } = data;
  if (!overview.ok) {
    mount(main, card(null, '', failed(overview)));
    return;
  }
  const o = overview.value;
  const region = o.region;
  const canGoUp = region.code !== user.region_code && region.parent_code;
  const dateInput = h('input', { type: 'date', id: 'dash-date', value: date, max: cal.today, onchange: (e) => e.target.value && setParams({ date: e.target.value }) });
  const measureSelect = h('select', { class: 'inline', id: 'dash-measure', 'data-testid': 'measure', onchange: (e) => setParams({ measure: e.target.value }) },
    MEASURES.map((m) => h('option', { value: m, selected: m === measure }, t('dash.measure.' + m))));
  const mapEl = h('div', { class: 'chart tall', 'data-testid': 'region-map' });
  const curveEl = h('div', { class: 'chart tall', 'data-testid': 'curve-chart' });
  const names = new Map();
  for (const c of o.children) names.set(c.code, c.name);
  if (data.risk.ok) for (const c of data.risk.value.counties) names.set(c.code, c.name);
  const mapNote = h('p', { class: 'muted small', 'data-testid': 'map-note' }, t('dash.map.hint'));
  const clusters = clustersCard();

  mount(main,
    h('div', { class: 'row spread' },
      h('h1', { 'data-testid': 'dash-heading', 'data-region': region.code }, t('dash.heading', { region: region.name })),
      h('div', { class: 'row' }, h('label', { for: 'dash-date' }, t('dash.date')), dateInput)),
    h('div', { class: 'row spread' },
      crumbs(o, user),
      canGoUp ? h('button', { type: 'button', class: 'secondary', 'data-testid': 'go-up', onclick: () => setParams({ region: region.parent_code }) }, '↑ ' + t('dash.up')) : null),
    commands(user) ? publishControl(region.code, date) : null,
    h('div', { class: 'grid' },
      card(t('dash.headline'), 'span-12', headline(o)),
      card(t('dash.map'), 'span-7',
        h('div', { class: 'row' }, h('label', { for: 'dash-measure' }, t('dash.measure')), measureSelect),
        mapNote, mapEl),
      card(t('dash.curve'), 'span-5', data.curve.ok ? curveEl : failed(data.curve)),
      completenessCard(data, form),
      alertsCard(data, names),
      riskCard(data),
      clusters.el));

  const drawing = [];
  if (data.curve.ok) {
    drawing.push(draw(chart(curveEl), curveOption(data, date)));
  }
  const m = measureOf(measure, data);
  const children = o.children;
  const drillable = LEVEL_ORDER.indexOf(region.level) < LEVEL_ORDER.indexOf('village');
  drawing.push(drawRegionMap(mapEl, {
    region,
    children,
    value: m.value,
    kind: m.kind,
    measure: t('dash.measure.' + measure),
    onClick: drillable ? (child) => setParams({ region: child.code }) : null,
  }).then(({ geometry }) => {
    mapEl.dataset.geometry = geometry ? 'map' : 'bars';
    if (!geometry) mapNote.textContent = t('dash.map.list');
    if (!children.length) mapNote.textContent = t('common.no_data');
  }));
  Promise.all(drawing).then(() => {
    performance.mark('fk:drawn');
    window.__fk.chartsDrawn = performance.now();
    window.__fk.dashboardMs = window.__fk.chartsDrawn - window.__fk.dashboardStart;
    return fillClusters(clusters.body, data, region, names);
  }).finally(() => {
    document.body.dataset.ready = 'true';
  });
}
