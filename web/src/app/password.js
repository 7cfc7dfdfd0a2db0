// Changing one's password (`PUT /api/v1/me/password`): the current one, the
// new one twice. The server ends every other session of the user; this one
// stays. Nothing typed here is kept anywhere.

import { h, mount } from '../lib/dom.js';
import { card } from '../lib/layout.js';
import { put, ApiError } from '../lib/api.js';
import { t } from '../i18n/index.js';
import { appFrame } from './nav.js';
import { fieldRow, showErrors, clearErrors } from './fields.js';

export function passwordView() {
  const main = appFrame('password');
  const input = (id, autocomplete) => h('input', { id, name: id, type: 'password', autocomplete, required: true, maxlength: 1024 });
  const old = input('old_password', 'current-password');
  const fresh = input('new_password', 'new-password');
  const again = input('confirm_password', 'new-password');
  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'password-status' });
  const submit = h('button', { type: 'submit', 'data-testid': 'password-submit' }, t('password.submit'));
  const form = h('form', { novalidate: true, 'data-testid': 'password-form' },
    fieldRow('old_password', t('password.old'), old),
    fieldRow('new_password', t('password.new'), fresh, t('password.new.hint')),
    fieldRow('confirm_password', t('password.confirm'), again),
    status,
    submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    status.className = 'status';
    status.textContent = '';
    if ([...fresh.value].length < 8) {
      showErrors(form, { new_password: t('password.short') });
      return;
    }
    if (fresh.value !== again.value) {
      showErrors(form, { confirm_password: t('password.mismatch') });
      return;
    }
    submit.disabled = true;
    submit.textContent = t('password.busy');
    try {
      await put('/api/v1/me/password', { old_password: old.value, new_password: fresh.value });
      for (const i of [old, fresh, again]) i.value = '';
      status.className = 'status ok';
      status.textContent = t('password.done');
    } catch (err) {
      if (err instanceof ApiError && err.field === 'old_password') {
        showErrors(form, { old_password: t('password.wrong') });
        old.value = '';
      } else if (err instanceof ApiError && err.status === 429) {
        status.className = 'status bad';
        status.textContent = t('login.limited', { minutes: Math.max(1, Math.ceil((err.retryAfter || 60) / 60)) });
      } else if (err instanceof ApiError && err.field) {
        showErrors(form, { [err.field]: err.message });
      } else {
        status.className = 'status bad';
        status.textContent = t('form.error', { message: err.message });
      }
    } finally {
      submit.disabled = false;
      submit.textContent = t('password.submit');
    }
  });
  mount(main, card(t('password.heading'), '', form));
  document.body.dataset.ready = 'true';
  old.focus();
}
