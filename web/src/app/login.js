// Sign-in: POST /api/v1/sessions, then on to where the user was going.

import { h, mount } from '../lib/dom.js';
import { frame, card } from '../lib/layout.js';
import { postRetrying, saveSession, ApiError } from '../lib/api.js';
import { t } from '../i18n/index.js';
import { navigate } from './nav.js';
import { fieldRow, showErrors, clearErrors } from './fields.js';

// what was typed survives a language switch and a failed attempt
const typed = { username: '' };

export function loginView(params) {
  const main = frame({ links: [{ href: '/', key: 'nav.public' }, { href: '/login', key: 'nav.login', current: true }] });
  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'login-status' });
  if (params.get('expired')) {
    status.className = 'status warn';
    status.textContent = t('login.expired');
  }
  const username = h('input', {
    id: 'username', name: 'username', autocomplete: 'username', required: true, value: typed.username,
    autocapitalize: 'none', spellcheck: 'false',
    oninput: (e) => { typed.username = e.target.value; },
  });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', 'data-testid': 'login-submit' }, t('login.submit'));
  const form = h('form', { novalidate: true, 'data-testid': 'login-form' },
    fieldRow('username', t('login.username'), username),
    fieldRow('password', t('login.password'), password),
    status,
    submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    status.className = 'status';
    status.textContent = '';
    submit.disabled = true;
    submit.textContent = t('login.busy');
    try {
      const res = await postRetrying('/api/v1/sessions', { username: username.value.trim(), password: password.value }, {
        onWait: (s) => {
          status.className = 'status warn';
          status.textContent = t('form.offline', { seconds: s });
        },
      });
      saveSession(res.body);
      const next = params.get('next');
      navigate(next && next.startsWith('/app') ? next : '/app', { replace: true });
    } catch (err) {
      submit.disabled = false;
      submit.textContent = t('login.submit');
      if (err instanceof ApiError && err.status === 429) {
        status.className = 'status bad';
        status.textContent = t('login.limited', { minutes: Math.max(1, Math.ceil((err.retryAfter || 60) / 60)) });
        password.value = '';
      } else if (err instanceof ApiError && err.status === 401) {
        showErrors(form, { password: t('login.failed') });
        password.value = '';
        password.focus();
      } else if (err instanceof ApiError && err.field) {
        showErrors(form, { [err.field]: err.message });
      } else {
        status.className = 'status bad';
        status.textContent = t('form.error', { message: err.message });
      }
    }
  });
  mount(main, h('div', { class: 'login' }, card(t('login.heading'), '', form)));
  (typed.username ? password : username).focus();
}
