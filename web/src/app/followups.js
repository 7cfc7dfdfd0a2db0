// The daily follow-up list (/app/follow-ups?region=), phone first: the close
// contacts due today (GET /api/v1/follow-ups/due), those not reached for two
// days on top and marked, each with one-tap entries — normal (with the
// temperature), fever or symptoms, not reached — posted to
// /api/v1/contacts/{id}/follow-ups, retried while the network is down. A
// contact reached leaves the list for "followed up today"; one with fever or
// symptoms offers to turn them into a suspected case in one step.

import { h, mount } from '../lib/dom.js';
import { card } from '../lib/layout.js';
import { get, post, postRetrying, session, ApiError } from '../lib/api.js';
import { codePrefix } from '../lib/charts.js';
import { loadNames, rememberNames, nameOf } from '../lib/names.js';
import { t, fmtNumber } from '../i18n/index.js';
import { appFrame, today } from './nav.js';
import { fieldRow, clearErrors, showApiError } from './fields.js';
import { CONTACT_ENTRY_ROLES, contactFormHref } from './contacts.js';

const SYMPTOMS = ['cough', 'fatigue', 'sore_throat', 'nasal_congestion', 'runny_nose', 'loss_of_smell_or_taste',
  'shortness_of_breath', 'muscle_ache', 'diarrhoea', 'conjunctivitis', 'other'];
const NORMAL_TEMPERATURE = '36.5';
const FEVER_TEMPERATURE = '37.3';

function resultText(f) {
  if (!f.reached) return t('fu.result.not_reached');
  const temperature = f.temperature === null || f.temperature === undefined ? '–' : f.temperature.toFixed(1);
  if (f.fever) return t('fu.result.fever', { temperature });
  if (f.symptoms && f.symptoms.length) return `${temperature} °C · ${f.symptoms.map((s) => t('symptom.' + s)).join('、')}`;
  return t('fu.result.normal', { temperature });
}

/** Whether the user may report a case in `unit` (a code), as far as the codes tell. */
function covers(user, level, unit) {
  if (unit === user.region_code) return true;
  if (!['nation', 'province', 'city'].includes(level)) return false;
  return level === 'nation' || unit.startsWith(codePrefix(user.region_code, level));
}

export async function followUpsView(params) {
  const main = appFrame('follow-ups');
  const user = session().user;
  const code = params.get('region') || user.region_code;
  mount(main, h('p', { class: 'muted' }, t('dash.loading')));
  let cal;
  let region;
  let list;
  let home;
  try {
    cal = await today();
    [region, list, home] = await Promise.all([
      get(`/api/v1/regions/${encodeURIComponent(code)}`),
      get('/api/v1/follow-ups/due', { region: code, date: params.get('date') || cal.today }),
      get(`/api/v1/regions/${encodeURIComponent(user.region_code)}`),
    ]);
    rememberNames([region]);
    await loadNames(list.contacts.map((c) => c.region_code));
  } catch (e) {
    mount(main, card(null, 'status bad', t('dash.failed', { message: e.message })));
    document.body.dataset.ready = 'true';
    return;
  }
  const date = list.date;
  // those not reached for two days first, then by id
  const due = [...list.contacts].sort((a, b) => Number(b.not_reached_two_days) - Number(a.not_reached_two_days) || (a.id < b.id ? -1 : 1));
  const summary = h('p', { 'data-testid': 'fu-summary' });
  const dueList = h('ul', { class: 'plain fu-list', 'data-testid': 'due-list' });
  const doneHeading = h('h2', { hidden: true });
  const doneList = h('ul', { class: 'plain fu-list', 'data-testid': 'done-list' });
  let remaining = due.length;
  let flagged = due.filter((c) => c.not_reached_two_days).length;
  let done = 0;
  const counts = () => {
    summary.textContent = t('fu.summary', { due: fmtNumber(remaining), date, flagged: fmtNumber(flagged) });
    doneHeading.textContent = t('fu.done', { count: fmtNumber(done) });
    doneHeading.hidden = done === 0;
    if (!remaining && !dueList.querySelector('li.empty')) {
      dueList.appendChild(h('li', { class: 'empty muted', 'data-testid': 'fu-none' }, t('fu.none')));
    }
  };

  function item(c) {
    const li = h('li', { class: 'fu-item' + (c.not_reached_two_days ? ' flagged' : ''), 'data-contact': c.id });
    const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
    const temp = h('input', {
      id: `temp-${c.id}`, class: 'temp', type: 'text', inputmode: 'decimal', value: NORMAL_TEMPERATURE,
      'aria-label': t('fu.temperature'), autocomplete: 'off',
    });
    const normal = h('button', { type: 'button', class: 'fu-normal', 'data-testid': `fu-normal-${c.id}` }, t('fu.normal', { temperature: NORMAL_TEMPERATURE }));
    temp.addEventListener('input', () => {
      normal.textContent = t('fu.normal', { temperature: temp.value.trim() || '–' });
    });
    const fever = h('button', { type: 'button', class: 'fu-fever', 'data-testid': `fu-fever-${c.id}` }, t('fu.fever'));
    const notReached = h('button', { type: 'button', class: 'fu-not-reached secondary', 'data-testid': `fu-not-reached-${c.id}` }, t('fu.not_reached'));
    const feverBox = h('div', { class: 'fu-fever-box' });
    const form = h('form', { novalidate: true },
      h('div', { class: 'field fu-normal-row', 'data-field': 'temperature' },
        h('div', { class: 'row fu-buttons' }, temp, normal),
        h('div', { class: 'field-error', role: 'alert', 'data-testid': `error-temperature-${c.id}` })),
      h('div', { class: 'row fu-buttons' }, fever, notReached),
      feverBox);
    form.addEventListener('submit', (e) => e.preventDefault());
    const buttons = [normal, fever, notReached];
    const last = c.last_follow_up;
    mount(li,
      h('div', { class: 'row spread' },
        h('strong', null, c.name || c.id, ' ', h('span', { class: 'muted small' }, c.id)),
        c.not_reached_two_days ? h('span', { class: 'badge high', 'data-testid': 'fu-flag' }, t('fu.flag')) : null),
      h('div', { class: 'small' },
        c.phone ? h('a', { href: `tel:${c.phone}` }, c.phone) : null,
        c.address ? ` · ${c.address}` : null,
        ` · ${nameOf(c.region_code) || c.region_code}`),
      h('div', { class: 'muted small' },
        t(c.place === 'centralised' ? 'fu.place.centralised' : 'fu.place.home'), c.site ? ` (${c.site})` : '',
        ' · ', t('fu.release', { date: c.release_date })),
      h('div', { class: 'muted small' }, last ? t('fu.last', { date: last.date, result: resultText(last) }) : t('fu.last.none')),
      form,
      status);

    async function record(body, kind) {
      clearErrors(form);
      status.className = 'status';
      status.textContent = '';
      for (const b of buttons) b.disabled = true;
      try {
        await postRetrying(`/api/v1/contacts/${encodeURIComponent(c.id)}/follow-ups`, { date, ...body }, {
          onWait: (s) => {
            status.className = 'status warn';
            status.textContent = t('form.offline', { seconds: s });
          },
        });
      } catch (err) {
        showApiError(form, status, err);
        for (const b of buttons) b.disabled = false;
        return;
      }
      for (const b of buttons) b.disabled = false;
      status.className = 'status ok';
      status.textContent = t('fu.recorded.' + kind);
      if (kind === 'not_reached') return;
      // reached: off the due list
      if (li.parentElement === dueList) {
        remaining -= 1;
        if (c.not_reached_two_days) flagged -= 1;
        done += 1;
        li.classList.remove('flagged');
        doneList.prepend(li);
      }
      form.hidden = true;
      if (kind === 'fever') li.appendChild(convertForm(c));
      counts();
    }

    normal.addEventListener('click', () => {
      const v = temp.value.trim();
      record({ reached: true, temperature: /^\d+(\.\d+)?$/.test(v) ? Number(v) : v, symptoms: [] }, 'normal');
    });
    notReached.addEventListener('click', () => record({ reached: false }, 'not_reached'));
    fever.addEventListener('click', () => {
      if (feverBox.firstChild) {
        mount(feverBox);
        form.querySelector('.fu-normal-row').dataset.field = 'temperature';
        return;
      }
      const feverTemp = h('input', { id: `fever-temp-${c.id}`, type: 'text', inputmode: 'decimal', value: FEVER_TEMPERATURE, autocomplete: 'off' });
      const boxes = SYMPTOMS.map((s) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', value: s, 'data-testid': `symptom-${s}-${c.id}` }), ' ', t('symptom.' + s)));
      const send = h('button', { type: 'button', 'data-testid': `fu-fever-submit-${c.id}` }, t('fu.fever.submit'));
      send.addEventListener('click', () => {
        const v = feverTemp.value.trim();
        record({
          reached: true,
          temperature: /^\d+(\.\d+)?$/.test(v) ? Number(v) : v,
          symptoms: boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
        }, 'fever');
      });
      mount(feverBox,
        fieldRow(`fever-temp-${c.id}`, t('fu.temperature'), feverTemp, null, 'temperature'),
        h('fieldset', { class: 'symptoms', 'data-field': 'symptoms' }, h('legend', null, t('fu.symptoms')), boxes,
          h('div', { class: 'field-error', role: 'alert' })),
        send);
      // the normal row's temperature error belongs to the fever form now
      form.querySelector('.fu-normal-row').dataset.field = 'temperature-normal';
      feverTemp.focus();
    });
    return li;
  }

  function convertForm(c) {
    const caseId = h('input', { id: `convert-id-${c.id}`, autocomplete: 'off', value: `${c.id}-S`, autocapitalize: 'characters' });
    const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
    const send = h('button', { type: 'submit', 'data-testid': `fu-convert-${c.id}` }, t('fu.convert'));
    const form = h('form', { novalidate: true, class: 'fu-convert' },
      fieldRow(`convert-id-${c.id}`, t('fu.convert.case_id'), caseId, null, 'case_id'), status, send);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      send.disabled = true;
      const body = { case_id: caseId.value.trim(), report_date: date };
      // a grid worker or another county reports in its own region
      if (!covers(user, home.level, c.reporting_unit)) body.reporting_unit = user.region_code;
      try {
        const res = await post(`/api/v1/contacts/${encodeURIComponent(c.id)}/convert`, body);
        const id = res.body.case.id;
        mount(form, h('p', { class: 'status ok', 'data-testid': `fu-converted-${c.id}` },
          h('a', { href: `/app/cases/${encodeURIComponent(id)}` }, t('fu.converted', { id }))));
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) {
          showApiError(form, status, new ApiError(422, { error: { field: 'case_id', message: err.message } }));
        } else {
          showApiError(form, status, err, { fieldFor: (f) => (f === 'report_date' ? 'case_id' : f) });
        }
        send.disabled = false;
      }
    });
    return form;
  }

  dueList.append(...due.map(item));
  counts();
  mount(main,
    h('div', { class: 'row spread' },
      h('h1', { 'data-testid': 'fu-heading' }, t('fu.heading', { region: region.name })),
      CONTACT_ENTRY_ROLES.includes(user.role) ? h('a', { class: 'button', href: contactFormHref(), 'data-testid': 'contact-new' }, '+ ' + t('contact.new')) : null),
    summary,
    dueList,
    doneHeading,
    doneList);
  document.body.dataset.ready = 'true';
}
