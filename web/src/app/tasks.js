// Tasks and directives (R11).
//
//   /app/tasks        one list (GET /api/v1/tasks): directives to the user's
//                     unit with their deadline, overdue marked, to acknowledge
//                     and complete with a note; tips from the public for the
//                     responsible unit (with the contact, for that unit only),
//                     to mark handled; open alerts, to the dashboard.
//   /app/directives   command levels: issue a directive (text, deadline,
//                     targets among the child regions) and the directives
//                     issued, each with who has not acknowledged and who has
//                     not completed.

import { h, mount } from '../lib/dom.js';
import { card } from '../lib/layout.js';
import { get, post, postRetrying, session } from '../lib/api.js';
import { t, fmtNumber, fmtDateTime } from '../i18n/index.js';
import { appFrame, today } from './nav.js';
import { fieldRow, clearErrors, showApiError } from './fields.js';

const loading = (main) => mount(main, h('p', { class: 'muted' }, t('dash.loading')));
const failed = (main, e) => {
  mount(main, card(null, 'status bad', t('dash.failed', { message: e.message })));
  document.body.dataset.ready = 'true';
};

/** A note form under a task: one input, one button; `send(note)` posts it. */
function noteForm(id, label, button, testid, send) {
  const note = h('input', { id, autocomplete: 'off' });
  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', 'data-testid': testid }, button);
  const form = h('form', { novalidate: true }, fieldRow(id, label, note, null, 'note'), status, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    submit.disabled = true;
    try {
      await send(note.value.trim(), status);
    } catch (err) {
      showApiError(form, status, err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

const offline = (status) => (s) => {
  status.className = 'status warn';
  status.textContent = t('form.offline', { seconds: s });
};

function taskItem(task, reload) {
  const li = h('li', { class: task.overdue ? 'overdue' : '', 'data-testid': `task-${task.kind}-${task.id}`, 'data-status': task.status });
  const head = h('div', { class: 'row spread' },
    h('strong', null, t('task.kind.' + task.kind), ' · ', task.region.name),
    h('span', { class: 'small' },
      task.due ? t('task.due', { due: fmtDateTime(task.due) }) : t('task.since', { since: fmtDateTime(task.since) }),
      task.overdue ? [' ', h('span', { class: 'badge high', 'data-testid': 'task-overdue' }, t('task.overdue'))] : null));
  const actions = h('div');
  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
  if (task.kind === 'directive') {
    if (task.status === 'issued') {
      const ack = h('button', { type: 'button', 'data-testid': `ack-${task.id}` }, t('task.acknowledge'));
      ack.addEventListener('click', async () => {
        ack.disabled = true;
        try {
          await postRetrying(task.href + '/acknowledge', {}, { onWait: offline(status) });
          reload();
        } catch (err) {
          status.className = 'status bad';
          status.textContent = t('form.error', { message: err.message });
          ack.disabled = false;
        }
      });
      actions.appendChild(ack);
    }
    actions.appendChild(noteForm(`complete-note-${task.id}`, t('task.complete.note'), t('task.complete'), `complete-${task.id}`, async (note, st) => {
      await postRetrying(task.href + '/complete', { note }, { onWait: offline(st) });
      reload();
    }));
  } else if (task.kind === 'tip') {
    actions.appendChild(noteForm(`handle-note-${task.id}`, t('task.handle.note'), t('task.handle'), `handle-${task.id}`, async (note, st) => {
      await postRetrying(`/api/v1/tips/${task.id}/handle`, { note }, { onWait: offline(st) });
      reload();
    }));
  } else {
    actions.appendChild(h('a', { href: `/app/dashboard?region=${task.region.code}` }, t('task.alert.open')));
  }
  mount(li,
    head,
    h('p', { class: 'task-text' }, task.text),
    task.kind === 'directive' ? h('p', { class: 'muted small' }, t('task.status.' + task.status)) : null,
    task.contact ? h('p', { class: 'small', 'data-testid': 'tip-contact' }, t('task.contact', { contact: task.contact })) : null,
    actions,
    status);
  return li;
}

export async function tasksView() {
  const main = appFrame('tasks');
  loading(main);
  let list;
  try {
    list = (await get('/api/v1/tasks')).tasks;
  } catch (e) {
    failed(main, e);
    return;
  }
  const groups = ['directive', 'tip', 'alert'].map((kind) => [kind, list.filter((x) => x.kind === kind)]);
  const overdue = list.filter((x) => x.overdue).length;
  mount(main,
    h('h1', { 'data-testid': 'tasks-heading' }, t('task.heading')),
    h('p', { 'data-testid': 'tasks-summary' }, t('task.summary', { count: fmtNumber(list.length), overdue: fmtNumber(overdue) })),
    h('div', { class: 'grid' },
      groups.map(([kind, items]) => card(t('task.group.' + kind), 'span-12',
        items.length
          ? h('ul', { class: 'plain task-list', 'data-testid': `tasks-${kind}` }, items.map((x) => taskItem(x, () => tasksView())))
          : h('p', { class: 'muted', 'data-testid': `tasks-${kind}` }, t('task.none'))))));
  document.body.dataset.ready = 'true';
}

// ---- directives -----------------------------------------------------------------

const DRAFT_KEY = 'fk.draft.directive';

function loadDraft() {
  try {
    return JSON.parse(localStorage.getItem(DRAFT_KEY) || 'null') || {};
  } catch {
    return {};
  }
}

function regionNames(list) {
  return list.length ? list.map((r) => r.name).join(t('common.list_sep')) : t('dash.none');
}

function directiveItem(d) {
  return h('li', { 'data-testid': `directive-${d.id}`, class: d.counts.overdue ? 'overdue' : '' },
    h('div', { class: 'row spread' },
      h('strong', null, d.text),
      h('span', { class: 'small' }, t('task.due', { due: fmtDateTime(d.deadline) }),
        d.counts.overdue ? [' ', h('span', { class: 'badge high' }, t('dir.overdue', { count: fmtNumber(d.counts.overdue) }))] : null)),
    h('p', { class: 'muted small' }, t('dir.issued', { by: d.issued_by, at: fmtDateTime(d.issued_at) }), ' · ',
      t('dir.counts', { total: fmtNumber(d.counts.total), acknowledged: fmtNumber(d.counts.acknowledged), completed: fmtNumber(d.counts.completed) })),
    h('p', { class: 'small' }, h('span', null, t('dir.not_acknowledged')), ' ',
      h('span', { 'data-testid': 'not-acknowledged' }, regionNames(d.not_acknowledged))),
    h('p', { class: 'small' }, h('span', null, t('dir.not_completed')), ' ',
      h('span', { 'data-testid': 'not-completed' }, regionNames(d.not_completed))),
    h('ul', { class: 'plain small' }, d.targets.filter((x) => x.note).map((x) => h('li', null, x.region.name, ': ', x.note))));
}

export async function directivesView() {
  const main = appFrame('directives');
  const user = session().user;
  loading(main);
  let cal;
  let region;
  let children;
  let issued;
  try {
    [cal, region, children, issued] = await Promise.all([
      today(),
      get(`/api/v1/regions/${encodeURIComponent(user.region_code)}`),
      get(`/api/v1/regions/${encodeURIComponent(user.region_code)}/children`).catch(() => []),
      get('/api/v1/directives'),
    ]);
  } catch (e) {
    failed(main, e);
    return;
  }
  const draft = loadDraft();
  const text = h('textarea', { id: 'dir-text', rows: 3, value: draft.text || '' });
  const deadline = h('input', { id: 'dir-deadline', type: 'datetime-local', value: draft.deadline || `${cal.today}T18:00` });
  const chosen = new Set(draft.targets || []);
  const boxes = children.map((c) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: c.code, checked: chosen.has(c.code), 'data-testid': `target-${c.code}` }), ' ', c.name));
  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'dir-status' });
  const submit = h('button', { type: 'submit', 'data-testid': 'dir-submit' }, t('dir.issue'));
  const targets = () => boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
  const form = h('form', { novalidate: true, 'data-testid': 'directive-form' },
    fieldRow('dir-text', t('dir.text'), text, null, 'text'),
    fieldRow('dir-deadline', t('dir.deadline'), deadline, null, 'deadline'),
    h('fieldset', { 'data-field': 'targets' },
      h('legend', null, t('dir.targets', { region: region.name })),
      children.length ? h('div', { class: 'targets' }, boxes) : h('p', { class: 'muted' }, t('dir.no_children')),
      h('div', { class: 'field-error', role: 'alert', 'data-testid': 'error-targets' })),
    status,
    submit);
  const save = () => localStorage.setItem(DRAFT_KEY, JSON.stringify({ text: text.value, deadline: deadline.value, targets: targets() }));
  form.addEventListener('input', save);
  form.addEventListener('change', save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    submit.disabled = true;
    try {
      await postRetrying('/api/v1/directives', { text: text.value.trim(), deadline: deadline.value, targets: targets() }, { onWait: offline(status) });
      localStorage.removeItem(DRAFT_KEY);
      directivesView();
    } catch (err) {
      showApiError(form, status, err, { fieldFor: (f) => (f.startsWith('targets') ? 'targets' : f) });
      submit.disabled = false;
    }
  });
  const list = issued.directives.filter((d) => d.issuer_side !== false);
  mount(main,
    h('h1', { 'data-testid': 'directives-heading' }, t('dir.heading', { region: region.name })),
    h('div', { class: 'grid' },
      card(t('dir.new'), 'span-5', form),
      card(t('dir.list'), 'span-7',
        list.length
          ? h('ul', { class: 'plain task-list', 'data-testid': 'directives' }, list.map(directiveItem))
          : h('p', { class: 'muted', 'data-testid': 'directives' }, t('dir.none')))));
  document.body.dataset.ready = 'true';
}

/**
 * The dashboard's "publish" control (command levels): publishes the day and
 * region shown; a revision that changes figures asks for a reason, and the
 * API's 422 about it is shown next to the reason input.
 */
export function publishControl(code, date) {
  const reason = h('input', { id: 'publish-reason', autocomplete: 'off' });
  const reasonRow = fieldRow('publish-reason', t('pub.reason'), reason, t('pub.reason.hint'), 'reason');
  reasonRow.hidden = true;
  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'publish-status' });
  status.hidden = true;
  const submit = h('button', { type: 'submit', class: 'secondary', 'data-testid': 'publish' }, t('pub.publish', { date }));
  const form = h('form', { novalidate: true, class: 'publish-box', 'data-testid': 'publish-form' }, reasonRow, submit, status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    status.hidden = false;
    submit.disabled = true;
    const body = { date, region: code };
    if (reason.value.trim()) body.reason = reason.value.trim();
    try {
      const res = await post('/api/v1/publications', body);
      const p = (res.body.publications || [res.body])[0] || {};
      status.className = 'status ok';
      status.textContent = t('pub.outcome.' + (p.outcome || 'published'), { version: fmtNumber(p.version || 1) });
      reasonRow.hidden = true;
      reason.value = '';
    } catch (err) {
      if (err.field === 'reason') reasonRow.hidden = false;
      showApiError(form, status, err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
