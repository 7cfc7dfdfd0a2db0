// The public page (`/`): the *published* figures. The day's release of the
// nation (GET /api/v1/public/releases: its bulletin in Chinese and English,
// the headline figures, the provinces on a map, its version and, when it was
// revised, the way to the errata), the national trend and the downloads from
// the open data (built from releases only, small counts suppressed), the
// errata list (what changed, when, why), and the public tip line. A day with
// no release yet falls back to the live figures. No sign-in, aggregate
// counts only.

import '../styles.css';
import { h, mount } from '../lib/dom.js';
import { frame, card } from '../lib/layout.js';
import { get, postRetrying, session, ApiError } from '../lib/api.js';
import { chart, draw, disposeCharts, PALETTE } from '../lib/charts.js';
import { drawRegionMap } from '../lib/regionmap.js';
import { loadNames, nameOf } from '../lib/names.js';
import { t, tOr, onLangChange, fmtNumber, fmtDateTime } from '../i18n/index.js';
import { fieldRow, clearErrors, showApiError } from '../app/fields.js';

const NATION = { code: '000000', level: 'nation', parent_code: null };
const LIVE_MEASURES = ['new14', 'new_confirmed', 'cum_confirmed'];
const RELEASE_MEASURES = ['new_confirmed', 'cum_confirmed'];
const HEADLINE = ['cum_confirmed', 'new_confirmed', 'current_severe', 'cum_deaths', 'cum_recovered', 'current_suspected', 'current_observation'];
const TREND_DAYS = 60;
const state = {
  date: null, today: null, release: null, openData: null, errata: null,
  series: null, regions: null, bulletins: null, measure: 'new_confirmed', error: null,
};

function addDays(date, n) {
  const d = new Date(date + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** A published figure as a number for charts: "<5" and absent are no number. */
const num = (v) => (typeof v === 'number' ? v : null);
/** A published figure as text: a number formatted, "<5" as it is. */
const shown = (v) => (typeof v === 'number' ? fmtNumber(v) : v === null || v === undefined ? '–' : String(v));
const fieldLabel = (f) => tOr('field.' + f, tOr('dash.' + f, f));

async function load(date) {
  state.error = null;
  try {
    const cal = await get('/api/v1/calendar');
    state.today = cal.today;
    let release = null;
    try {
      release = await get('/api/v1/public/releases', date ? { date } : undefined);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
    state.release = release;
    if (release) {
      state.date = release.date;
      const [openData, errata] = await Promise.all([
        get('/api/v1/public/open-data.json', { level: 'nation', from: addDays(release.date, -(TREND_DAYS - 1)), to: release.date }),
        get('/api/v1/public/errata', { to: cal.today }),
      ]);
      state.openData = openData;
      state.errata = errata;
      await loadNames(errata.errata.map((e) => e.region_code));
      if (!RELEASE_MEASURES.includes(state.measure)) state.measure = 'new_confirmed';
    } else {
      // no release for the day: the live figures, as before publishing existed
      const series = await get('/api/v1/public/series', date ? { to: date } : undefined);
      state.series = series;
      state.date = series.to;
      const [zh, en, regions, errata] = await Promise.all([
        get('/api/v1/bulletin', { date: state.date, lang: 'zh' }),
        get('/api/v1/bulletin', { date: state.date, lang: 'en' }),
        get('/api/v1/public/regions', { date: state.date }),
        get('/api/v1/public/errata', { to: cal.today }),
      ]);
      state.bulletins = { zh, en };
      state.regions = regions;
      state.errata = errata;
      await loadNames(errata.errata.map((e) => e.region_code));
      if (!LIVE_MEASURES.includes(state.measure)) state.measure = 'new14';
    }
  } catch (e) {
    state.error = e;
  }
  render();
}

/** The trend: [{date, new_confirmed, cum_confirmed}] from the open data, or the live series. */
function trendDays() {
  if (state.release) {
    return state.openData.rows.filter((r) => r.region_code === NATION.code)
      .map((r) => ({ date: r.date, new_confirmed: num(r.figures.new_confirmed), cum_confirmed: num(r.figures.cum_confirmed) }));
  }
  return state.series.days.map((d) => ({ date: d.date, new_confirmed: d.values.new_confirmed, cum_confirmed: d.cum_confirmed }));
}

function trendOption() {
  const days = trendDays();
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
      { name: t('dash.new_confirmed'), type: 'bar', data: days.map((d) => d.new_confirmed), itemStyle: { color: PALETTE.line } },
      { name: t('dash.cum_confirmed'), type: 'line', yAxisIndex: 1, showSymbol: false, data: days.map((d) => d.cum_confirmed), lineStyle: { color: PALETTE.blue }, itemStyle: { color: PALETTE.blue } },
    ],
  };
}

function downloads() {
  const d = state.date;
  const from = addDays(d, -(TREND_DAYS - 1));
  const items = state.release
    ? [
      ['public.download.national.csv', `/api/v1/public/open-data.csv?level=nation&from=${from}&to=${d}`],
      ['public.download.national.json', `/api/v1/public/open-data.json?level=nation&from=${from}&to=${d}`],
      ['public.download.provinces.csv', `/api/v1/public/open-data.csv?level=province&from=${d}&to=${d}`],
      ['public.download.provinces.json', `/api/v1/public/open-data.json?level=province&from=${d}&to=${d}`],
      ['public.download.release', state.release.href],
    ]
    : [
      ['public.download.national.csv', `/api/v1/public/series?format=csv&to=${d}`],
      ['public.download.national.json', `/api/v1/public/series?format=json&to=${d}`],
      ['public.download.provinces.csv', `/api/v1/public/regions?format=csv&date=${d}`],
      ['public.download.provinces.json', `/api/v1/public/regions?format=json&date=${d}`],
      ['public.download.bulletin.zh', `/api/v1/bulletin?format=text&lang=zh&date=${d}`],
      ['public.download.bulletin.en', `/api/v1/bulletin?format=text&lang=en&date=${d}`],
    ];
  return h('ul', { class: 'downloads' }, items.map(([k, href]) => h('li', null, h('a', { href, download: '' }, t(k)))));
}

/** The release's version line: its number, when, and the way to the errata when revised. */
function versionLine() {
  const r = state.release;
  if (!r) return h('p', { class: 'status warn', 'data-testid': 'release-version' }, t('public.release.none'));
  return h('div', { class: 'release-version' },
    h('p', { 'data-testid': 'release-version', 'data-version': r.version },
      t('public.release.version', { version: fmtNumber(r.version), published: fmtDateTime(r.published_at) }),
      r.version > 1 ? [' · ', h('a', { href: '#errata', 'data-testid': 'release-revised' }, t('public.release.revised'))] : null,
      r.reason ? h('span', { class: 'muted' }, ' · ', t('public.release.reason', { reason: r.reason })) : null),
    r.versions.length > 1
      ? h('p', { class: 'muted small' }, t('public.release.versions'), ' ',
        r.versions.map((v, i) => [i ? ', ' : '', h('a', { href: v.href }, t('public.release.v', { version: fmtNumber(v.version) }))]))
      : null);
}

function headline() {
  const figures = state.release.rows[0].figures;
  return h('div', { class: 'figures', 'data-testid': 'release-headline' },
    HEADLINE.filter((f) => f in figures).map((f) => h('div', { class: 'figure' },
      h('div', { class: 'value' }, shown(figures[f])),
      h('div', { class: 'label' }, t('dash.' + f)))));
}

function erratumLine(e) {
  return h('li', { 'data-testid': 'erratum' },
    h('strong', null, nameOf(e.region_code) || e.region_code), ' ',
    t('public.errata.line', {
      date: e.date, field: fieldLabel(e.field), old: shown(e.old_value), new: shown(e.new_value),
      version: fmtNumber(e.version), published: fmtDateTime(e.published_at),
    }),
    h('div', { class: 'muted small' }, t('public.errata.why', { reason: e.reason })));
}

function errataCard() {
  const list = state.errata ? state.errata.errata : [];
  return h('section', { class: 'card span-6', id: 'errata', 'data-testid': 'errata' },
    h('h2', null, t('public.errata')),
    h('p', { class: 'muted small' }, t('public.errata.note')),
    list.length
      ? h('ul', { class: 'plain errata' }, list.slice(0, 50).map(erratumLine))
      : h('p', { class: 'muted', 'data-testid': 'errata-none' }, t('public.errata.none')));
}

// ---- the tip line -------------------------------------------------------------

const TIP_DRAFT = 'fk.draft.tip';
/** When the form was first shown (ms): kept across re-renders, reset after a tip is received. */
let tipShownAt = null;
let tipReceipt = null;

function loadTipDraft() {
  try {
    return JSON.parse(localStorage.getItem(TIP_DRAFT) || 'null') || {};
  } catch {
    return {};
  }
}

/** The region code in what was typed or chosen ("江汉区 420103" or "420103"). */
function regionCodeOf(text) {
  const m = /(\d{6}(?:\d{3}|\d{6})?)\s*$/.exec(text.trim());
  return m ? m[1] : text.trim();
}

function tipCard() {
  if (tipShownAt === null) tipShownAt = Date.now();
  const draft = loadTipDraft();
  const what = h('textarea', { id: 'tip-what', rows: 3, maxlength: 1000, value: draft.what || '' });
  const regionList = h('datalist', { id: 'tip-region-list' });
  const region = h('input', { id: 'tip-region', list: 'tip-region-list', autocomplete: 'off', value: draft.region || '', placeholder: t('tip.where.placeholder') });
  const contact = h('input', { id: 'tip-contact', autocomplete: 'off', maxlength: 200, value: draft.contact || '' });
  // the honeypot: people never see it and leave it empty
  const website = h('input', { id: 'tip-website', name: 'website', tabindex: '-1', autocomplete: 'off', value: '' });
  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'tip-status' });
  const send = h('button', { type: 'submit', 'data-testid': 'tip-submit' }, t('tip.submit'));
  const form = h('form', { novalidate: true, class: 'tip-form', 'data-testid': 'tip-form' },
    fieldRow('tip-what', t('tip.what'), what, t('tip.what.hint'), 'what'),
    fieldRow('tip-region', t('tip.where'), region, t('tip.where.hint'), 'region'),
    regionList,
    fieldRow('tip-contact', t('tip.contact'), contact, t('tip.contact.hint'), 'contact'),
    h('div', { class: 'hp', 'aria-hidden': 'true' }, h('label', { for: 'tip-website' }, t('tip.website')), website),
    status,
    send);
  if (tipReceipt) {
    status.className = 'status ok';
    status.textContent = tipReceipt;
  }
  const save = () => localStorage.setItem(TIP_DRAFT, JSON.stringify({ what: what.value, region: region.value, contact: contact.value }));
  form.addEventListener('input', save);
  let searching = null;
  region.addEventListener('input', () => {
    clearTimeout(searching);
    const q = region.value.trim();
    if (!q || /\d{6}\s*$/.test(q)) return;
    searching = setTimeout(async () => {
      try {
        const found = await get('/api/v1/regions', { q, limit: 12 });
        mount(regionList, found.map((r) => h('option', { value: `${r.name} ${r.code}` })));
      } catch {
        // no suggestions; a code typed in still works
      }
    }, 200);
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    tipReceipt = null;
    status.className = 'status';
    status.textContent = '';
    send.disabled = true;
    const body = {
      what: what.value.trim(),
      region: regionCodeOf(region.value),
      contact: contact.value.trim() || null,
      website: website.value,
      started_at: tipShownAt,
      submitted_at: Date.now(),
    };
    try {
      const res = await postRetrying('/api/v1/tips', body, {
        onWait: (s) => {
          status.className = 'status warn';
          status.textContent = t('form.offline', { seconds: s });
        },
      });
      const r = res.body;
      tipReceipt = t('tip.received', { id: r.id, responsible: r.responsible.name });
      localStorage.removeItem(TIP_DRAFT);
      tipShownAt = Date.now();
      what.value = '';
      region.value = '';
      contact.value = '';
      status.className = 'status ok';
      status.textContent = tipReceipt;
      status.setAttribute('data-receipt', String(r.id));
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        status.className = 'status bad';
        status.textContent = t('tip.rate_limited', { seconds: fmtNumber(err.retryAfter || 60) });
      } else if (err instanceof ApiError && ['too_fast', 'form_expired', 'form_time_missing', 'honeypot'].includes(err.rule)) {
        if (err.rule !== 'too_fast') tipShownAt = Date.now();
        status.className = 'status bad';
        status.textContent = t('tip.rule.' + err.rule);
      } else {
        showApiError(form, status, err, { fieldFor: (f) => f });
      }
    } finally {
      send.disabled = false;
    }
  });
  return card(t('tip.heading'), 'span-6', h('p', { class: 'muted small' }, t('tip.note')), form);
}

// ---- the page -----------------------------------------------------------------

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
  if (!state.release && !state.series) {
    mount(main, h('p', { class: 'muted' }, t('dash.loading')));
    return;
  }
  const measures = state.release ? RELEASE_MEASURES : LIVE_MEASURES;
  const dateInput = h('input', {
    type: 'date', id: 'public-date', value: state.date, max: state.today,
    onchange: (e) => e.target.value && load(e.target.value),
  });
  const trendEl = h('div', { class: 'chart', 'data-testid': 'trend-chart' });
  const mapEl = h('div', { class: 'chart tall', 'data-testid': 'province-map' });
  const measureSelect = h(
    'select',
    { class: 'inline', id: 'public-measure', onchange: (e) => { state.measure = e.target.value; drawMap(mapEl); } },
    measures.map((m) => h('option', { value: m, selected: m === state.measure }, t('dash.measure.' + m))),
  );
  const zh = state.release ? state.release.text_zh : state.bulletins.zh.text;
  const en = state.release ? state.release.text_en : state.bulletins.en.text;
  mount(
    main,
    h('div', { class: 'row spread' },
      h('h1', null, t('public.heading')),
      h('div', { class: 'row' }, h('label', { for: 'public-date' }, t('public.date')), dateInput)),
    h('div', { class: 'grid' },
      card(t('public.bulletin'), 'span-12',
        versionLine(),
        state.release ? headline() : null,
        h('div', { class: 'bulletin-label' }, t('public.bulletin.zh')),
        h('p', { class: 'bulletin', lang: 'zh-CN', 'data-testid': 'bulletin-zh' }, zh),
        h('div', { class: 'bulletin-label' }, t('public.bulletin.en')),
        h('p', { class: 'bulletin', lang: 'en', 'data-testid': 'bulletin-en' }, en)),
      card(t('public.trend'), 'span-6', trendEl),
      card(t('public.map'), 'span-6',
        h('div', { class: 'row' }, h('label', { for: 'public-measure' }, t('public.map.measure')), measureSelect),
        mapEl),
      card(t('public.download'), 'span-12', h('p', { class: 'muted' }, t('public.download.note')), downloads()),
      errataCard(),
      tipCard(),
    ),
  );
  const pending = [draw(chart(trendEl), trendOption()), drawMap(mapEl)];
  Promise.all(pending).then(() => {
    window.__fk.chartsDrawn = performance.now();
    document.body.dataset.ready = 'true';
  });
}

async function drawMap(el) {
  if (state.release) {
    const children = state.release.rows.slice(1);
    await drawRegionMap(el, {
      region: NATION,
      children,
      value: (r) => num(r.figures[state.measure]),
      kind: 'count',
      measure: t('dash.measure.' + state.measure),
      onClick: null,
    });
    return;
  }
  await drawRegionMap(el, {
    region: NATION,
    children: state.regions.regions,
    value: (r) => r[state.measure],
    kind: 'count',
    measure: t('dash.measure.' + state.measure),
    onClick: null,
  });
}

onLangChange(render);
render();
load(null);
