// The close-contact registration form (/app/contacts/new?source=), posted to
// POST /api/v1/contacts: the person, the source cases (each with the kind and
// last day of exposure), the place of medical observation (at home or
// centralised, with the site), the registration day and the period. Reached
// from a case's page ("register a close contact of this case", the source
// prefilled) and from the follow-up list.
//
// Like the case form it keeps what was typed (also across a reload) until
// the contact is registered, retries while the network is down, and shows
// every error of the API next to its field — a link's as `links[0].exposure`.
// On success it shows the day the contact is released from observation.

import { h, mount } from '../lib/dom.js';
import { card } from '../lib/layout.js';
import { get, postRetrying, session, ApiError, personalDrafts } from '../lib/api.js';
import { loadNames, rememberNames, nameOf } from '../lib/names.js';
import { t } from '../i18n/index.js';
import { appFrame, today } from './nav.js';
import { fieldRow, clearErrors, showApiError } from './fields.js';

const EXPOSURES = ['household', 'work', 'transport', 'healthcare', 'other'];
/** The roles that register contacts from this form. */
export const CONTACT_ENTRY_ROLES = ['county', 'city'];
const DRAFT_KEY = 'fk.draft.contact.new';

export const contactFormHref = (source) => '/app/contacts/new' + (source ? `?source=${encodeURIComponent(source)}` : '');

function loadDraft() {
  try {
    return JSON.parse(personalDrafts.getItem(DRAFT_KEY) || 'null') || {};
  } catch {
    return {};
  }
}

export async function contactFormView(params) {
  const main = appFrame('follow-ups');
  const user = session().user;
  mount(main, h('p', { class: 'muted' }, t('dash.loading')));
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
    mount(main, card(null, 'status bad', t('dash.failed', { message: e.message })));
    document.body.dataset.ready = 'true';
    return;
  }
  rememberNames([region, ...children]);
  const units = [region, ...children.filter((c) => c.level === 'county' || c.level === 'city' || c.level === 'township')];
  const draft = loadDraft();
  const source = (params.get('source') || '').trim();
  if (source) {
    draft.links = Array.isArray(draft.links) && draft.links.length ? draft.links : [{}];
    draft.links[0] = { ...draft.links[0], source_case_id: source };
  }
  const inputs = {};
  const value = (name, dflt = '') => (draft[name] !== undefined ? draft[name] : dflt);

  const text = (name, attrs = {}) => {
    inputs[name] = h('input', { id: name, name, autocomplete: 'off', value: value(name), ...attrs });
    return inputs[name];
  };
  const select = (name, options, v) => h('select', { id: name, name },
    options.map(([val, lab]) => h('option', { value: val, selected: val === v }, lab)));
  const row = (name, input, hint) => fieldRow(name, t('contact.field.' + name), input, hint);
  const caseRow = (name, input, hint) => fieldRow(name, t('case.field.' + name), input, hint);

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

  // the source cases: one row each, ids `links-<i>-<field>`, the API's `links[i].<field>`
  const links = [];
  const linkBox = h('div', { 'data-testid': 'contact-links' });
  const addLink = (l = {}) => {
    const i = links.length;
    const id = (f) => `links-${i}-${f}`;
    const api = (f) => `links[${i}].${f}`;
    const sourceInput = h('input', { id: id('source_case_id'), autocomplete: 'off', autocapitalize: 'characters', value: l.source_case_id || '', placeholder: 'WH-0001' });
    const exposureInput = select(id('exposure'), EXPOSURES.map((e) => [e, t('exposure.' + e)]), l.exposure || 'household');
    const dateInput = h('input', { id: id('last_exposure_date'), type: 'date', max: cal.today, value: l.last_exposure_date || '' });
    links.push({ source: sourceInput, exposure: exposureInput, date: dateInput });
    linkBox.append(h('fieldset', { class: 'link', 'data-link': String(i) },
      h('legend', null, t('contact.link', { n: i + 1 })),
      h('div', { class: 'fields' },
        fieldRow(id('source_case_id'), t('contact.field.source_case_id'), sourceInput, null, api('source_case_id')),
        fieldRow(id('exposure'), t('contact.field.exposure'), exposureInput, null, api('exposure')),
        fieldRow(id('last_exposure_date'), t('contact.field.last_exposure_date'), dateInput, null, api('last_exposure_date')))));
  };
  const draftLinks = Array.isArray(draft.links) && draft.links.length ? draft.links : [{}];
  for (const l of draftLinks) addLink(l);
  const moreLinks = h('button', { type: 'button', class: 'secondary', 'data-testid': 'contact-add-link', onclick: () => addLink() }, '+ ' + t('contact.add_link'));

  const place = select('place', [['home', t('place.home')], ['centralised', t('place.centralised')]], value('place', 'home'));
  inputs.place = place;

  const fields = {
    person: [
      row('contact_id', text('contact_id', { required: true, autocapitalize: 'characters', placeholder: 'WH-C-0200' })),
      caseRow('name', text('name')),
      caseRow('id_number', text('id_number', { inputmode: 'text', maxlength: 18, autocapitalize: 'characters' }), t('case.hint.id')),
      caseRow('sex', (inputs.sex = select('sex', [['', t('case.field.sex.auto')], ['male', t('sex.male')], ['female', t('sex.female')], ['unknown', t('sex.unknown')]], value('sex')))),
      caseRow('age', text('age', { inputmode: 'numeric' })),
      caseRow('phone', text('phone', { type: 'tel', inputmode: 'tel' })),
      caseRow('address', text('address')),
      caseRow('region_code', text('region_code', { list: 'region-options', inputmode: 'numeric', value: value('region_code', user.region_code), onchange: showRegionName }), regionName),
    ],
    observation: [
      caseRow('reporting_unit', (inputs.reporting_unit = select('reporting_unit', units.map((r) => [r.code, `${r.name} ${r.code}`]), value('reporting_unit', user.region_code)))),
      row('place', place),
      row('site', text('site')),
      row('registered_date', text('registered_date', { type: 'date', max: cal.today, value: value('registered_date', cal.today) })),
      row('observation_days', text('observation_days', { inputmode: 'numeric', value: value('observation_days', '14') }), t('contact.hint.days')),
    ],
  };
  const showSite = () => {
    inputs.site.closest('.field').hidden = place.value !== 'centralised';
  };

  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'contact-status' });
  const submit = h('button', { type: 'submit', 'data-testid': 'contact-submit' }, t('contact.submit'));
  const form = h('form', { novalidate: true, 'data-testid': 'contact-form', class: 'case-form' },
    regionList,
    h('h3', null, t('contact.section.person')), h('div', { class: 'fields' }, fields.person),
    h('h3', null, t('contact.section.links')), linkBox, moreLinks,
    h('h3', null, t('contact.section.observation')), h('div', { class: 'fields' }, fields.observation),
    status,
    submit);
  if (Object.entries(draft).some(([k, v]) => k !== 'links' && v)) {
    status.className = 'status warn';
    status.textContent = t('form.draft');
  }

  const save = () => {
    const typed = {};
    for (const [name, input] of Object.entries(inputs)) typed[name] = input.value;
    typed.links = links.map((l) => ({ source_case_id: l.source.value, exposure: l.exposure.value, last_exposure_date: l.date.value }));
    personalDrafts.setItem(DRAFT_KEY, JSON.stringify(typed));
  };
  form.addEventListener('input', save);
  form.addEventListener('change', save);
  place.addEventListener('change', showSite);
  showSite();
  showRegionName();

  const body = () => {
    const v = (name) => {
      const s = inputs[name].value.trim();
      return s === '' ? undefined : s;
    };
    // a number when it is one; else as typed, and the API names the field
    const num = (s) => (s === undefined ? undefined : /^\d+$/.test(s) ? Number(s) : s);
    return {
      contact_id: inputs.contact_id.value.trim(),
      name: v('name'),
      id_number: v('id_number'),
      sex: v('sex'),
      age: num(v('age')),
      phone: v('phone'),
      address: v('address'),
      region_code: inputs.region_code.value.trim(),
      reporting_unit: inputs.reporting_unit.value,
      links: links
        .map((l) => ({ source_case_id: l.source.value.trim(), exposure: l.exposure.value, last_exposure_date: l.date.value.trim() }))
        .filter((l, i) => i === 0 || l.source_case_id || l.last_exposure_date),
      place: place.value,
      site: place.value === 'centralised' ? v('site') : undefined,
      registered_date: inputs.registered_date.value.trim(),
      observation_days: num(v('observation_days')),
    };
  };

  /**
   * The API's name for a field → the form's. A rule about a link comes as
   * `links` (an exposure after today, an unknown source case): the link it is about.
   */
  const fieldFor = (err) => (field) => {
    if (field === 'person') return 'name';
    if (field !== 'links') return field;
    const msg = err.message.replace(/^links: /, '');
    if (/^last_exposure_date|after today/.test(msg)) {
      const i = links.findIndex((l) => l.date.value > cal.today);
      return `links[${Math.max(i, 0)}].last_exposure_date`;
    }
    const i = links.findIndex((l) => l.source.value.trim() && msg.includes(l.source.value.trim()));
    return `links[${Math.max(i, 0)}].source_case_id`;
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    status.className = 'status';
    status.textContent = '';
    submit.disabled = true;
    submit.textContent = t('contact.busy');
    const sent = body();
    let waited = false;
    const done = (c) => {
      personalDrafts.removeItem(DRAFT_KEY);
      status.className = 'status ok';
      mount(status,
        h('span', { 'data-testid': 'contact-registered', 'data-release': c.release_date },
          t('contact.registered', { id: c.id, date: c.release_date })), ' ',
        h('a', { href: '/app/follow-ups', 'data-testid': 'contact-to-follow-ups' }, t('contact.to_follow_ups')));
      submit.hidden = true;
      moreLinks.hidden = true;
      for (const i of form.querySelectorAll('input, select')) i.disabled = true;
    };
    try {
      const res = await postRetrying('/api/v1/contacts', sent, {
        onWait: (s) => {
          waited = true;
          status.className = 'status warn';
          status.textContent = t('form.offline', { seconds: s });
          submit.textContent = t('form.retrying');
        },
      });
      done(res.body);
      submit.disabled = false;
      return;
    } catch (err) {
      // the first try got through but its answer was lost: the contact is there
      if (waited && err instanceof ApiError && err.status === 409) {
        try {
          const c = await get(`/api/v1/contacts/${encodeURIComponent(sent.contact_id)}`);
          if (c.registered_date === sent.registered_date && c.reporting_unit === sent.reporting_unit && c.person.region_code === sent.region_code) {
            done(c);
            submit.disabled = false;
            return;
          }
        } catch {
          // not ours after all: say so below
        }
      }
      if (err instanceof ApiError && err.status === 409) {
        showApiError(form, status, new ApiError(422, { error: { code: 'invalid', field: 'contact_id', message: err.message } }));
      } else {
        showApiError(form, status, err, { fieldFor: fieldFor(err), forbiddenField: 'reporting_unit' });
      }
    }
    submit.disabled = false;
    submit.textContent = t('contact.submit');
  });

  mount(main,
    h('div', { class: 'row spread' },
      h('h1', { 'data-testid': 'contact-form-heading' }, t('contact.form.heading')),
      h('a', { href: '/app/follow-ups' }, t('nav.follow_ups'))),
    card(null, '', form));
  document.body.dataset.ready = 'true';
}
