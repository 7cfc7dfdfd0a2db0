// The line list of cases:
//
//   /app/cases?region=&classification=&after=   the cases of the user's jurisdiction, a page at a time
//   /app/cases/new                              the case report form (POST /api/v1/cases)
//   /app/cases/{id}                             a case: its data, history, next events and chain
//
// The form keeps what was typed (also across a reload, in this tab's
// sessionStorage: it holds personal data, so logout forgets it) until the case is
// reported, retries while the network is down, and shows every error of the
// API next to its field. Events are sent with the version the page shows; a
// case changed by someone else in between is refused (409) and the page says so.

import { h, mount } from '../lib/dom.js';
import { card } from '../lib/layout.js';
import { get, post, postRetrying, session, ApiError, personalDrafts } from '../lib/api.js';
import { loadNames, rememberNames, regionLabel, nameOf } from '../lib/names.js';
import { t, tOr, fmtNumber } from '../i18n/index.js';
import { appFrame, navigate, today } from './nav.js';
import { fieldRow, clearErrors, showApiError } from './fields.js';
import { chainView } from './chain.js';
import { CONTACT_ENTRY_ROLES, contactFormHref } from './contacts.js';

const PAGE = 30;
const CLASSIFICATIONS = ['suspected', 'confirmed', 'excluded'];
const SEVERITIES = ['mild', 'severe', 'critical'];
/** The roles that report cases from this form. */
export const CASE_ENTRY_ROLES = ['county', 'city'];

const caseHref = (id) => `/app/cases/${encodeURIComponent(id)}`;
const label = (prefix, v) => (v ? tOr(prefix + v, v) : '–');

function loading(main) {
  mount(main, h('p', { class: 'muted' }, t('dash.loading')));
}

function failed(main, e) {
  mount(main, card(null, 'status bad', t('dash.failed', { message: e.message })));
  document.body.dataset.ready = 'true';
}

function sexAge(p) {
  const parts = [];
  if (p.sex && p.sex !== 'unknown') parts.push(t('sex.' + p.sex));
  if (p.age !== null && p.age !== undefined) parts.push(String(p.age));
  return parts.join(t('common.list_sep')) || '–';
}

// ---- the list ----------------------------------------------------------------

export async function casesView(params) {
  const main = appFrame('cases');
  const user = session().user;
  const code = params.get('region') || user.region_code;
  const classification = CLASSIFICATIONS.includes(params.get('classification')) ? params.get('classification') : '';
  const after = params.get('after') || '';
  loading(main);
  let region;
  let page;
  try {
    [region, page] = await Promise.all([
      get(`/api/v1/regions/${encodeURIComponent(code)}`),
      get('/api/v1/cases', { region: code, classification, after, limit: PAGE }),
    ]);
    rememberNames([region]);
    await loadNames(page.cases.flatMap((c) => [c.person.region_code, c.reporting_unit]));
  } catch (e) {
    failed(main, e);
    return;
  }
  const link = (changes) => {
    const p = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) {
      if (v) p.set(k, v);
      else p.delete(k);
    }
    const q = p.toString();
    return '/app/cases' + (q ? '?' + q : '');
  };
  const filter = h('select', {
    class: 'inline', id: 'cases-classification', 'data-testid': 'cases-classification',
    onchange: (e) => navigate(link({ classification: e.target.value, after: null })),
  },
  h('option', { value: '' }, t('cases.filter.all')),
  CLASSIFICATIONS.map((c) => h('option', { value: c, selected: c === classification }, t('class.' + c))));
  const rows = page.cases.map((c) => h('tr', { 'data-case': c.id },
    h('td', null, h('a', { href: caseHref(c.id) }, c.id)),
    h('td', null, c.person.name || '–'),
    h('td', null, sexAge(c.person)),
    h('td', null, nameOf(c.person.region_code) || c.person.region_code),
    h('td', null, nameOf(c.reporting_unit) || c.reporting_unit),
    h('td', null, h('span', { class: `badge class-${c.classification}` }, t('class.' + c.classification))),
    h('td', null, label('severity.', c.severity)),
    h('td', null, c.onset_date || '–'),
    h('td', null, c.report_date),
    h('td', null, c.outcome ? `${t('outcome.' + c.outcome)} ${c.outcome_date || ''}` : '–')));
  mount(main,
    h('div', { class: 'row spread' },
      h('h1', { 'data-testid': 'cases-heading' }, t('cases.heading', { region: region.name })),
      CASE_ENTRY_ROLES.includes(user.role) ? h('a', { class: 'button', href: '/app/cases/new', 'data-testid': 'cases-new' }, '+ ' + t('cases.new')) : null),
    card(null, '',
      h('div', { class: 'row spread' },
        h('div', { class: 'row' }, h('label', { for: 'cases-classification' }, t('cases.filter.classification')), filter),
        h('span', { class: 'muted small' }, t('cases.count', { count: fmtNumber(page.cases.length) }))),
      page.cases.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'data-testid': 'cases-table' },
          h('thead', null, h('tr', null, ['id', 'name', 'sex_age', 'home', 'unit', 'classification', 'severity', 'onset', 'report', 'outcome']
            .map((k) => h('th', { scope: 'col' }, t('cases.col.' + k))))),
          h('tbody', null, rows)))
        : h('p', { class: 'muted', 'data-testid': 'cases-table' }, t('cases.none')),
      h('p', { class: 'muted small' }, t('cases.masked')),
      h('div', { class: 'row pager' },
        after ? h('a', { href: link({ after: null }), 'data-testid': 'cases-first' }, '« ' + t('cases.first')) : null,
        page.next ? h('a', { href: link({ after: page.next }), 'data-testid': 'cases-next' }, t('cases.next') + ' »') : null)));
  document.body.dataset.ready = 'true';
}

// ---- the form ----------------------------------------------------------------

const DRAFT_KEY = 'fk.draft.case.new';

function loadDraft() {
  try {
    return JSON.parse(personalDrafts.getItem(DRAFT_KEY) || 'null') || {};
  } catch {
    return {};
  }
}

/** The API's name for a field → the form's. */
function caseFieldFor(field) {
  if (field.startsWith('source_case_ids')) return 'source_case_ids';
  if (field === 'facility') return 'facility_name';
  if (field === 'person') return 'name';
  return field;
}

export async function caseFormView() {
  const main = appFrame('cases');
  const user = session().user;
  loading(main);
  let cal;
  let region;
  let children;
  try {
    [cal, region, children] = await Promise.all([
      today(),
      get(`/api/v1/regions/${encodeURIComponent(user.region_code)}`),
      get(`/api/v1/regions/${encodeURIComponent(user.region_code)}/children`).catch(() => []),
    ]);
  } catch (e) {
    failed(main, e);
    return;
  }
  rememberNames([region, ...children]);
  const units = [region, ...children.filter((c) => c.level === 'county' || c.level === 'city' || c.level === 'township')];
  const draft = loadDraft();
  const inputs = {};
  const value = (name, dflt = '') => (draft[name] !== undefined ? draft[name] : dflt);

  const text = (name, attrs = {}) => {
    inputs[name] = h('input', { id: name, name, autocomplete: 'off', value: value(name), ...attrs });
    return inputs[name];
  };
  const date = (name, dflt = '') => text(name, { type: 'date', max: cal.today, value: value(name, dflt) });
  const select = (name, options, dflt = '') => {
    const v = value(name, dflt);
    inputs[name] = h('select', { id: name, name },
      options.map(([val, lab]) => h('option', { value: val, selected: val === v }, lab)));
    return inputs[name];
  };
  const row = (name, input, hint) => fieldRow(name, t('case.field.' + name), input, hint);

  const regionList = h('datalist', { id: 'region-options' },
    units.map((r) => h('option', { value: r.code }, r.name)));
  const regionName = h('div', { class: 'muted small', 'data-testid': 'region-name' });
  const showRegionName = async () => {
    const code = inputs.region_code.value.trim();
    if (!code) {
      regionName.textContent = '';
      return;
    }
    await loadNames([code]);
    if (inputs.region_code.value.trim() === code) regionName.textContent = nameOf(code) || t('case.region.unknown');
  };

  const imported = h('input', { id: 'imported', name: 'imported', type: 'checkbox' });
  imported.checked = Boolean(draft.imported);
  inputs.imported = imported;

  const fields = {
    person: [
      row('case_id', text('case_id', { required: true, autocapitalize: 'characters', placeholder: 'WH-0200' })),
      row('name', text('name')),
      row('id_number', text('id_number', { inputmode: 'text', maxlength: 18, autocapitalize: 'characters' }), t('case.hint.id')),
      row('sex', select('sex', [['', t('case.field.sex.auto')], ['male', t('sex.male')], ['female', t('sex.female')], ['unknown', t('sex.unknown')]])),
      row('age', text('age', { inputmode: 'numeric' })),
      row('phone', text('phone', { type: 'tel', inputmode: 'tel' })),
      row('address', text('address')),
      row('region_code', text('region_code', { list: 'region-options', inputmode: 'numeric', value: value('region_code', user.region_code), onchange: showRegionName }), regionName),
    ],
    report: [
      row('reporting_unit', select('reporting_unit', units.map((r) => [r.code, `${r.name} ${r.code}`]), user.region_code)),
      row('report_date', date('report_date', cal.today)),
      row('onset_date', date('onset_date')),
      row('first_visit_date', date('first_visit_date')),
      h('div', { class: 'field check', 'data-field': 'imported' },
        h('label', { for: 'imported' }, imported, ' ', t('case.field.imported')),
        h('div', { class: 'field-error', role: 'alert', 'data-testid': 'error-imported' })),
      row('place_of_exposure', text('place_of_exposure')),
      row('source_case_ids', text('source_case_ids', { autocapitalize: 'characters' })),
    ],
    clinical: [
      row('classification', select('classification', CLASSIFICATIONS.map((c) => [c, t('class.' + c)]), 'suspected')),
      row('confirmation_date', date('confirmation_date')),
      row('exclusion_date', date('exclusion_date')),
      row('severity', select('severity', [['', t('case.field.severity.none')], ...SEVERITIES.map((s) => [s, t('severity.' + s)])])),
      row('severity_date', date('severity_date')),
      row('facility_region', text('facility_region', { list: 'region-options', inputmode: 'numeric' })),
      row('facility_name', text('facility_name')),
      row('admission_date', date('admission_date'), t('case.hint.admission')),
    ],
  };
  const byName = (name) => inputs[name].closest('.field');
  const showDates = () => {
    const c = inputs.classification.value;
    byName('confirmation_date').hidden = c !== 'confirmed';
    byName('exclusion_date').hidden = c !== 'excluded';
  };

  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'case-status' });
  const submit = h('button', { type: 'submit', 'data-testid': 'case-submit' }, t('case.submit'));
  const form = h('form', { novalidate: true, 'data-testid': 'case-form', class: 'case-form' },
    regionList,
    h('h3', null, t('case.section.person')), h('div', { class: 'fields' }, fields.person),
    h('h3', null, t('case.section.report')), h('div', { class: 'fields' }, fields.report),
    h('h3', null, t('case.section.clinical')), h('div', { class: 'fields' }, fields.clinical),
    status,
    submit);
  if (Object.values(draft).some((v) => v)) {
    status.className = 'status warn';
    status.textContent = t('form.draft');
  }

  const save = () => {
    const typed = {};
    for (const [name, input] of Object.entries(inputs)) typed[name] = input.type === 'checkbox' ? input.checked : input.value;
    personalDrafts.setItem(DRAFT_KEY, JSON.stringify(typed));
  };
  form.addEventListener('input', save);
  form.addEventListener('change', save);
  inputs.classification.addEventListener('change', showDates);
  showDates();
  showRegionName();

  const body = () => {
    const v = (name) => {
      const s = inputs[name].value.trim();
      return s === '' ? undefined : s;
    };
    const c = inputs.classification.value;
    const age = v('age');
    return {
      case_id: inputs.case_id.value.trim(),
      name: v('name'),
      id_number: v('id_number'),
      sex: v('sex'),
      // a number when it is one; else as typed, and the API names the field
      age: age === undefined ? undefined : /^\d+$/.test(age) ? Number(age) : age,
      phone: v('phone'),
      address: v('address'),
      region_code: inputs.region_code.value.trim(),
      reporting_unit: inputs.reporting_unit.value,
      imported: imported.checked,
      place_of_exposure: v('place_of_exposure'),
      onset_date: v('onset_date'),
      first_visit_date: v('first_visit_date'),
      report_date: inputs.report_date.value.trim(),
      source_case_ids: (v('source_case_ids') || '').split(/[\s,，;；]+/).filter(Boolean),
      classification: c,
      confirmation_date: c === 'confirmed' ? v('confirmation_date') : undefined,
      exclusion_date: c === 'excluded' ? v('exclusion_date') : undefined,
      severity: v('severity'),
      severity_date: v('severity') ? v('severity_date') : undefined,
      facility_region: v('facility_region'),
      facility_name: v('facility_name'),
      admission_date: v('admission_date'),
    };
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    status.className = 'status';
    status.textContent = '';
    submit.disabled = true;
    submit.textContent = t('case.busy');
    const sent = body();
    let waited = false;
    const done = (c) => {
      personalDrafts.removeItem(DRAFT_KEY);
      navigate(caseHref(c.id) + '?created=1');
    };
    try {
      const res = await postRetrying('/api/v1/cases', sent, {
        onWait: (s) => {
          waited = true;
          status.className = 'status warn';
          status.textContent = t('form.offline', { seconds: s });
          submit.textContent = t('form.retrying');
        },
      });
      done(res.body);
      return;
    } catch (err) {
      // the first try got through but its answer was lost: the case is there
      if (waited && err instanceof ApiError && err.status === 409) {
        try {
          const c = await get(`/api/v1/cases/${encodeURIComponent(sent.case_id)}`);
          if (c.report_date === sent.report_date && c.reporting_unit === sent.reporting_unit && c.person.region_code === sent.region_code) {
            done(c);
            return;
          }
        } catch {
          // not ours after all: say so below
        }
      }
      if (err instanceof ApiError && err.status === 409) {
        showApiError(form, status, new ApiError(422, { error: { code: 'invalid', field: 'case_id', message: err.message } }));
      } else {
        showApiError(form, status, err, { fieldFor: caseFieldFor, forbiddenField: 'reporting_unit' });
      }
    }
    submit.disabled = false;
    submit.textContent = t('case.submit');
  });

  mount(main,
    h('div', { class: 'row spread' },
      h('h1', { 'data-testid': 'case-form-heading' }, t('case.form.heading')),
      h('a', { href: '/app/cases' }, t('nav.cases'))),
    card(null, '', form));
  document.body.dataset.ready = 'true';
}

// ---- one case ----------------------------------------------------------------

/** The events that may come next, by the case's state (the server has the last word). */
function nextEvents(c) {
  if (c.outcome) return c.classification === 'suspected' ? [] : ['revise'];
  switch (c.classification) {
    case 'suspected':
      return ['confirm', 'exclude', 'set_severity', 'admit', 'die'];
    case 'excluded':
      return ['revise'];
    default:
      return ['set_severity', 'admit', 'discharge', 'die', 'revise'];
  }
}

function eventDetails(e) {
  const parts = [];
  if (e.to) parts.push(`→ ${t('class.' + e.to)}`);
  if (e.reason) parts.push(e.reason);
  if (e.severity) parts.push(t('severity.' + e.severity));
  if (e.facility_name) parts.push(`${e.facility_name} (${regionLabel(e.facility_region)})`);
  return parts.join(' · ');
}

/** Every region code a case shows, for their names. */
const caseRegions = (c) => [c.person.region_code, c.reporting_unit, c.admission && c.admission.facility_region,
  ...c.history.map((e) => e.facility_region)];

function dl(pairs) {
  return h('dl', { class: 'pairs' }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export async function caseView(id, params) {
  const main = appFrame('cases');
  loading(main);
  let c;
  let cal;
  try {
    [c, cal] = await Promise.all([get(`/api/v1/cases/${encodeURIComponent(id)}`), today()]);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      mount(main, card(null, 'status warn', h('span', { 'data-testid': 'case-missing' }, t('case.not_found')), ' ', h('a', { href: '/app/cases' }, t('nav.cases'))));
      document.body.dataset.ready = 'true';
      return;
    }
    failed(main, e);
    return;
  }
  await loadNames(caseRegions(c));
  const created = params.get('created') ? t('case.created', { version: c.version }) : null;
  renderCase(main, c, cal, { message: created, depth: '2' });
}

function renderCase(main, c, cal, { message = null, messageClass = 'ok', depth = '2' } = {}) {
  const user = session().user;
  document.body.dataset.ready = 'false';
  const p = c.person;
  const status = h('div', { class: message ? `status ${messageClass}` : 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'case-page-status' }, message);
  const actionBox = h('div', { 'data-testid': 'case-event-form' });
  const chainBox = h('div', { 'data-testid': 'case-chain' });

  const reload = async (msg, cls) => {
    const fresh = await get(`/api/v1/cases/${encodeURIComponent(c.id)}`);
    await loadNames(caseRegions(fresh));
    renderCase(main, fresh, cal, { message: msg, messageClass: cls, depth: chainBox.querySelector('select') ? chainBox.querySelector('select').value : depth });
  };

  function eventForm(event) {
    const f = (name, input) => fieldRow(`ev-${name}`, t('event.field.' + name), input, null, name);
    const date = h('input', { id: 'ev-date', type: 'date', max: cal.today, value: cal.today });
    const extra = {};
    const rows = [f('date', date)];
    if (event === 'revise') {
      extra.to = h('select', { id: 'ev-to' }, CLASSIFICATIONS.filter((k) => k !== c.classification).map((k) => h('option', { value: k }, t('class.' + k))));
      extra.reason = h('input', { id: 'ev-reason', autocomplete: 'off' });
      rows.push(f('to', extra.to), f('reason', extra.reason));
    } else if (event === 'set_severity') {
      extra.severity = h('select', { id: 'ev-severity' }, SEVERITIES.map((s) => h('option', { value: s, selected: s === c.severity }, t('severity.' + s))));
      rows.push(fieldRow('ev-severity', t('case.field.severity'), extra.severity, null, 'severity'));
    } else if (event === 'admit') {
      extra.facility_region = h('input', { id: 'ev-facility_region', inputmode: 'numeric', value: c.admission ? c.admission.facility_region : user.region_code });
      extra.facility_name = h('input', { id: 'ev-facility_name', autocomplete: 'off', value: c.admission ? c.admission.facility_name : '' });
      rows.push(fieldRow('ev-facility_region', t('case.field.facility_region'), extra.facility_region, null, 'facility_region'),
        fieldRow('ev-facility_name', t('case.field.facility_name'), extra.facility_name, null, 'facility_name'));
    }
    const formStatus = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'event-status' });
    const submit = h('button', { type: 'submit', 'data-testid': 'event-submit' }, t('event.submit'));
    const form = h('form', { novalidate: true, 'data-testid': `event-form-${event}` },
      h('h3', null, t('event.' + event)),
      h('div', { class: 'fields' }, rows),
      formStatus,
      h('div', { class: 'row' }, submit,
        h('button', { type: 'button', class: 'secondary', onclick: () => mount(actionBox) }, t('event.cancel'))));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      formStatus.className = 'status';
      formStatus.textContent = '';
      submit.disabled = true;
      submit.textContent = t('event.busy');
      const req = { expected_version: c.version, event, date: date.value };
      for (const [k, input] of Object.entries(extra)) req[k] = input.value.trim();
      try {
        const res = await post(`/api/v1/cases/${encodeURIComponent(c.id)}/events`, req);
        await loadNames(caseRegions(res.body));
        renderCase(main, res.body, cal, { message: t('event.recorded', { version: res.body.version }), depth: chainBox.querySelector('select') ? chainBox.querySelector('select').value : depth });
        return;
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) {
          formStatus.className = 'status bad';
          mount(formStatus,
            h('span', { 'data-testid': 'event-conflict' }, t('event.conflict')), ' ',
            h('button', { type: 'button', class: 'secondary', 'data-testid': 'case-reload', onclick: () => reload(null) }, t('event.reload')));
        } else {
          showApiError(form, formStatus, err, { fieldFor: (fld) => fld });
        }
      }
      submit.disabled = false;
      submit.textContent = t('event.submit');
    });
    mount(actionBox, form);
    const first = form.querySelector('select, input:not([type="date"])') || date;
    first.focus();
  }

  const events = nextEvents(c);
  const history = [
    { version: 1, event: 'reported', date: c.report_date, recorded_on: c.opened_on },
    ...c.history,
  ];
  mount(main,
    h('div', { class: 'row spread' },
      h('h1', { 'data-testid': 'case-heading', 'data-case': c.id, 'data-version': c.version },
        t('case.heading', { id: c.id }), ' ',
        h('span', { class: `badge class-${c.classification}`, 'data-testid': 'case-classification' }, t('class.' + c.classification)),
        ' ', h('small', { class: 'muted' }, t('case.version', { version: c.version }))),
      h('a', { href: '/app/cases' }, t('nav.cases'))),
    status,
    h('div', { class: 'grid' },
      card(t('case.details'), 'span-7',
        dl([
          [t('case.field.name'), p.name],
          [t('case.field.id_number'), p.id_number],
          [t('cases.col.sex_age'), sexAge(p)],
          [t('case.field.phone'), p.phone],
          [t('case.field.address'), p.address],
          [t('cases.col.home'), regionLabel(p.region_code)],
          [t('cases.col.unit'), regionLabel(c.reporting_unit)],
          [t('case.origin'), t(c.imported ? 'origin.imported' : 'origin.local') + (c.place_of_exposure ? ` · ${c.place_of_exposure}` : '')],
          [t('case.field.onset_date'), c.onset_date],
          [t('case.field.first_visit_date'), c.first_visit_date],
          [t('case.field.report_date'), c.report_date],
          [t('case.field.confirmation_date'), c.confirmation_date],
          [t('case.field.exclusion_date'), c.exclusion_date],
          [t('case.field.severity'), c.severity ? `${t('severity.' + c.severity)} (${c.severity_date})` : null],
          [t('event.admit'), c.admission ? t('case.admission', { facility: c.admission.facility_name, date: c.admission.date }) : null],
          [t('cases.col.outcome'), c.outcome ? `${t('outcome.' + c.outcome)} ${c.outcome_date}` : null],
          [t('case.sources'), c.source_case_ids.length ? c.source_case_ids.map((s, i) => [i ? ', ' : '', h('a', { href: caseHref(s) }, s)]) : null],
          [t('chain.contact'), c.from_contact_id ? t('case.from_contact', { id: c.from_contact_id }) : null],
        ])),
      card(t('case.actions'), 'span-5',
        events.length
          ? h('div', { class: 'row actions', 'data-testid': 'case-actions' }, events.map((ev) => h('button', {
            type: 'button', class: 'secondary', 'data-testid': `event-${ev}`, onclick: () => eventForm(ev),
          }, t('event.' + ev))))
          : null,
        c.outcome || c.classification === 'excluded' ? h('p', { class: 'muted small' }, t('case.actions.closed')) : null,
        CONTACT_ENTRY_ROLES.includes(user.role)
          ? h('p', null, h('a', { href: contactFormHref(c.id), 'data-testid': 'case-new-contact' }, '+ ' + t('contact.of_case')))
          : null,
        actionBox),
      card(t('case.history'), 'span-12',
        h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'data-testid': 'case-history' },
          h('thead', null, h('tr', null, ['version', 'event', 'date', 'recorded', 'details'].map((k) => h('th', { scope: 'col' }, t('case.col.' + k))))),
          h('tbody', null, history.map((e) => h('tr', null,
            h('td', null, String(e.version)),
            h('td', null, e.event === 'reported' ? t('case.history.reported') : tOr('event.' + e.event, e.event)),
            h('td', null, e.date),
            h('td', null, e.recorded_on),
            h('td', null, eventDetails(e)))))))),
      card(t('chain.heading'), 'span-12', chainBox)));
  chainView(chainBox, c.id, { depth, onOpen: (id) => id !== c.id && navigate(caseHref(id)) })
    .then(() => {
      document.body.dataset.ready = 'true';
    });
}
