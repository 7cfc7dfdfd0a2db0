// A daily report form: one tap for a zero report, or the counts. Field errors
// from the API are shown next to their field; what was typed is kept (also
// across a reload) until the report is filed, and a submit made while the
// network is down is retried until it gets through.

import { h, mount } from '../lib/dom.js';
import { card } from '../lib/layout.js';
import { get, session, postRetrying, ApiError, NetworkError } from '../lib/api.js';
import { t, tOr, lang, fmtTime } from '../i18n/index.js';
import { appFrame, today } from './nav.js';
import { fieldRow, showErrors, clearErrors } from './fields.js';

function formLabel(form) {
  return tOr('form.' + form.name, lang() === 'zh' ? form.label_zh : form.label_en);
}

function fieldLabel(field) {
  return tOr('field.' + field.name, lang() === 'zh' ? field.label_zh : field.label_en);
}

function deadlineText(form, date) {
  const d = new Date(date + 'T00:00:00Z');
  d.setUTCMinutes(form.deadline_minutes);
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

const draftKey = (form, region, date) => `fk.draft.${form}.${region}.${date}`;

function loadDraft(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}

function describe(filing) {
  const r = filing.report;
  const time = fmtTime(r.filed_at);
  const zero = Object.values(r.values).every((v) => v === 0);
  switch (filing.status) {
    case 'corrected':
      return t('form.corrected', { time, version: r.version });
    case 'unchanged':
      return t('form.unchanged', { version: r.version });
    default:
      return t(zero ? 'form.filed.zero' : 'form.filed', { time, version: r.version });
  }
}

/** Turn what was typed into the API's values: numbers where they are numbers, else as typed (the API says what is wrong). */
function valuesFrom(inputs) {
  const values = {};
  for (const [name, input] of Object.entries(inputs)) {
    const v = input.value.trim();
    values[name] = /^\d+$/.test(v) ? Number(v) : v === '' ? null : v;
  }
  return values;
}

/**
 * The card of one form for one unit and day.
 * form: from GET /api/v1/forms; region: {code, name}; date: YYYY-MM-DD.
 */
export function reportCard(form, region, date) {
  const key = draftKey(form.name, region.code, date);
  const draft = loadDraft(key) || {};
  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': `status-${form.name}` });
  const current = h('p', { class: 'muted', 'data-testid': `current-${form.name}` }, t('dash.loading'));
  const inputs = {};
  const rows = form.fields.map((f) => {
    const id = `values.${f.name}`;
    const input = h('input', {
      id, name: f.name, inputmode: 'numeric', autocomplete: 'off', value: draft[f.name] ?? '',
      oninput: () => {
        const typed = Object.fromEntries(Object.entries(inputs).map(([n, i]) => [n, i.value]));
        localStorage.setItem(key, JSON.stringify(typed));
      },
    });
    inputs[f.name] = input;
    return fieldRow(id, fieldLabel(f), input);
  });
  const dateInput = h('input', { id: `date-${form.name}`, type: 'hidden', value: date });
  const zeroButton = h('button', { type: 'button', class: 'zero-button', 'data-testid': `zero-${form.name}` }, t('form.zero'));
  const submit = h('button', { type: 'submit', 'data-testid': `submit-${form.name}` }, t('form.submit'));
  const valuesForm = h('form', { novalidate: true, 'data-testid': `form-${form.name}` },
    h('div', { class: 'field', 'data-field': 'date' }, h('div', { class: 'field-error', role: 'alert' })),
    dateInput,
    h('div', { class: 'fields' }, rows),
    submit);
  if (Object.values(draft).some((v) => v)) {
    status.className = 'status warn';
    status.textContent = t('form.draft');
  }

  async function file(body, button, label) {
    clearErrors(valuesForm);
    status.className = 'status';
    status.textContent = '';
    zeroButton.disabled = true;
    submit.disabled = true;
    button.textContent = t('form.busy');
    try {
      const res = await postRetrying('/api/v1/reports', body, {
        onWait: (s) => {
          status.className = 'status warn';
          status.textContent = t('form.offline', { seconds: s });
          button.textContent = t('form.retrying');
        },
      });
      localStorage.removeItem(key);
      status.className = 'status ok';
      status.textContent = describe(res.body);
      current.textContent = describe(res.body);
    } catch (err) {
      if (err instanceof ApiError && err.field) {
        const rest = showErrors(valuesForm, { [err.field]: err.message });
        status.className = 'status bad';
        status.textContent = Object.keys(rest).length ? t('form.error', { message: err.message }) : t('form.invalid');
      } else {
        status.className = 'status bad';
        status.textContent = t('form.error', { message: err instanceof NetworkError ? t('common.network') : err.message });
      }
    } finally {
      zeroButton.disabled = false;
      submit.disabled = false;
      button.textContent = label;
    }
  }

  zeroButton.addEventListener('click', () => file(
    { form: form.name, region_code: region.code, date, zero: true }, zeroButton, t('form.zero')));
  valuesForm.addEventListener('submit', (e) => {
    e.preventDefault();
    file({ form: form.name, region_code: region.code, date, values: valuesFrom(inputs) }, submit, t('form.submit'));
  });

  get(`/api/v1/reports/${encodeURIComponent(form.name)}/${encodeURIComponent(region.code)}/${date}`)
    .then((r) => {
      current.textContent = describe({ status: r.history.length > 1 ? 'corrected' : 'filed', report: r.current });
    })
    .catch((e) => {
      current.textContent = e instanceof ApiError && e.status === 404 ? t('form.not_filed') : '';
    });

  return card(formLabel(form), 'span-12 report-card',
    h('p', null, h('strong', null, region.name), ' · ', date, ' · ', h('span', { class: 'muted' }, t('form.deadline', { deadline: deadlineText(form, date) }))),
    current,
    zeroButton,
    h('p', { class: 'muted small' }, t('form.zero.hint')),
    status,
    h('h3', null, t('form.or')),
    valuesForm);
}

/** /app/report?form=&region=: one form on its own page. */
export async function reportView(params) {
  const main = appFrame('home');
  mount(main, h('p', { class: 'muted' }, t('dash.loading')));
  try {
    const me = session().user;
    const code = params.get('region') || me.region_code;
    const [forms, region, cal] = await Promise.all([
      get('/api/v1/forms'),
      get(`/api/v1/regions/${encodeURIComponent(code)}`),
      today(),
    ]);
    const form = forms.find((f) => f.name === params.get('form')) || forms.find((f) => f.level === region.level);
    if (!form) {
      mount(main, card(null, 'status warn', t('home.nothing')));
      return;
    }
    mount(main, h('div', { class: 'grid' }, reportCard(form, region, params.get('date') || cal.today)));
  } catch (e) {
    mount(main, card(null, 'status bad', t('dash.failed', { message: e.message })));
  }
}
