// The public page (`/`): the day's bulletin in Chinese and English, the
// national trend, the provinces on a map, and the open data to download.
// No sign-in, aggregate counts only.

import '../styles.css';
import { h, mount } from '../lib/dom.js';
import { frame, card } from '../lib/layout.js';
import { get, session } from '../lib/api.js';
import { chart, draw, disposeCharts, PALETTE } from '../lib/charts.js';
import { drawRegionMap } from '../lib/regionmap.js';
import { t, onLangChange } from '../i18n/index.js';

const NATION = { code: '000000', level: 'nation', parent_code: null };
const MEASURES = ['new14', 'new_confirmed', 'cum_confirmed'];
const state = { date: null, today: null, series: null, regions: null, bulletins: null, measure: 'new14', error: null };

async function load(date) {
  state.error = null;
  try {
    const series = await get('/api/v1/public/series', date ? { to: date } : undefined);
    state.series = series;
    state.today = series.today;
    state.date = series.to;
    const [zh, en, regions] = await Promise.all([
      get('/api/v1/bulletin', { date: state.date, lang: 'zh' }),
      get('/api/v1/bulletin', { date: state.date, lang: 'en' }),
      get('/api/v1/public/regions', { date: state.date }),
    ]);
    state.bulletins = { zh, en };
    state.regions = regions;
  } catch (e) {
    state.error = e;
  }
  render();
}

function trendOption() {
  const days = state.series.days;
  return {
    animation: false,
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    legend: { top: 0 },
    grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: days.map((d) => d.date.slice(5)) },
    yAxis: [
      { type: 'value', minInterval: 1, name: t('dash.new_confirmed') },
      { type: 'value', minInterval: 1, name: t('dash.cum_confirmed'), splitLine: { show: false } },
    ],
    series: [
      { name: t('dash.new_confirmed'), type: 'bar', data: days.map((d) => d.values.new_confirmed), itemStyle: { color: PALETTE.line } },
      { name: t('dash.cum_confirmed'), type: 'line', yAxisIndex: 1, showSymbol: false, data: days.map((d) => d.cum_confirmed), lineStyle: { color: PALETTE.blue }, itemStyle: { color: PALETTE.blue } },
    ],
  };
}

function downloads() {
  const d = state.date;
  const items = [
    ['public.download.national.csv', `/api/v1/public/series?format=csv&to=${d}`],
    ['public.download.national.json', `/api/v1/public/series?format=json&to=${d}`],
    ['public.download.provinces.csv', `/api/v1/public/regions?format=csv&date=${d}`],
    ['public.download.provinces.json', `/api/v1/public/regions?format=json&date=${d}`],
    ['public.download.bulletin.zh', `/api/v1/bulletin?format=text&lang=zh&date=${d}`],
    ['public.download.bulletin.en', `/api/v1/bulletin?format=text&lang=en&date=${d}`],
  ];
  return h('ul', { class: 'downloads' }, items.map(([k, href]) => h('li', null, h('a', { href, download: '' }, t(k)))));
}

function render() {
  disposeCharts();
  document.body.dataset.ready = 'false';
  const main = frame({
    links: [
      { href: '/', key: 'nav.public', current: true },
      session() ? { href: '/app', key: 'nav.home' } : { href: '/login', key: 'public.staff' },
    ],
  });
  if (state.error) {
    mount(main, card(null, 'status bad', t('dash.failed', { message: state.error.message })));
    return;
  }
  if (!state.series) {
    mount(main, h('p', { class: 'muted' }, t('dash.loading')));
    return;
  }
  const dateInput = h('input', {
    type: 'date', id: 'public-date', value: state.date, max: state.today,
    onchange: (e) => e.target.value && load(e.target.value),
  });
  const trendEl = h('div', { class: 'chart', 'data-testid': 'trend-chart' });
  const mapEl = h('div', { class: 'chart tall', 'data-testid': 'province-map' });
  const measureSelect = h(
    'select',
    { class: 'inline', id: 'public-measure', onchange: (e) => { state.measure = e.target.value; drawMap(mapEl); } },
    MEASURES.map((m) => h('option', { value: m, selected: m === state.measure }, t('dash.measure.' + m))),
  );
  mount(
    main,
    h('div', { class: 'row spread' },
      h('h1', null, t('public.heading')),
      h('div', { class: 'row' }, h('label', { for: 'public-date' }, t('public.date')), dateInput)),
    h('div', { class: 'grid' },
      card(t('public.bulletin'), 'span-12',
        h('div', { class: 'bulletin-label' }, t('public.bulletin.zh')),
        h('p', { class: 'bulletin', lang: 'zh-CN', 'data-testid': 'bulletin-zh' }, state.bulletins.zh.text),
        h('div', { class: 'bulletin-label' }, t('public.bulletin.en')),
        h('p', { class: 'bulletin', lang: 'en', 'data-testid': 'bulletin-en' }, state.bulletins.en.text)),
      card(t('public.trend'), 'span-6', trendEl),
      card(t('public.map'), 'span-6',
        h('div', { class: 'row' }, h('label', { for: 'public-measure' }, t('public.map.measure')), measureSelect),
        mapEl),
      card(t('public.download'), 'span-12', h('p', { class: 'muted' }, t('public.download.note')), downloads()),
    ),
  );
  const pending = [draw(chart(trendEl), trendOption()), drawMap(mapEl)];
  Promise.all(pending).then(() => {
    window.__fk.chartsDrawn = performance.now();
    document.body.dataset.ready = 'true';
  });
}

async function drawMap(el) {
  const regions = state.regions.regions;
  await drawRegionMap(el, {
    region: NATION,
    children: regions,
    value: (r) => r[state.measure],
    kind: 'count',
    measure: t('dash.measure.' + state.measure),
    onClick: null,
  });
}

onLangChange(render);
render();
load(null);
