// A labelled input with room for the API's message about it, next to it.

import { h } from '../lib/dom.js';
import { ApiError, NetworkError } from '../lib/api.js';
import { t } from '../i18n/index.js';

/**
 * A field: its label, the input, and an empty error line (`#<id>-error`).
 * `field` is the API's name for it when that differs from the element's id
 * (two forms on one page may both have a `date`).
 */
export function fieldRow(id, label, input, hint, field) {
  input.setAttribute('aria-describedby', `${id}-error`);
  return h('div', { class: 'field', 'data-field': field || id },
    h('label', { for: id }, label),
    input,
    hint ? h('div', { class: 'muted small' }, hint) : null,
    h('div', { class: 'field-error', id: `${id}-error`, role: 'alert', 'data-testid': `error-${id}` }));
}

/** Show `{field: message}` next to each field; a field not on the form is returned. */
export function showErrors(form, errors) {
  const rest = {};
  for (const [field, message] of Object.entries(errors)) {
    const row = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    if (!row) {
      rest[field] = message;
      continue;
    }
    // the API's message starts with the field's name, which the label already shows
    row.querySelector('.field-error').textContent = message.startsWith(field + ': ') ? message.slice(field.length + 2) : message;
    const input = row.querySelector('input, select, textarea');
    if (input) input.setAttribute('aria-invalid', 'true');
  }
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
  return rest;
}

export function clearErrors(form) {
  for (const e of form.querySelectorAll('.field-error')) e.textContent = '';
  for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}

/**
 * Show an API error on a form: a field error next to its field (`fieldFor`
 * maps the API's name for it to the form's), a region the server does not
 * know next to the input that holds its code, anything else in `status`.
 * Returns whether the error landed next to a field.
 */
export function showApiError(form, status, err, { fieldFor = (f) => f, forbiddenField = null, messages = {} } = {}) {
  const say = (text) => {
    status.className = 'status bad';
    status.textContent = text;
  };
  if (err instanceof ApiError && err.field) {
    const field = fieldFor(err.field);
    const rest = showErrors(form, { [field]: err.message.startsWith(err.field + ': ') ? err.message.slice(err.field.length + 2) : err.message });
    if (Object.keys(rest).length) say(t('form.error', { message: err.message }));
    else say(t('form.invalid'));
    return !Object.keys(rest).length;
  }
  if (err instanceof ApiError && err.status === 404) {
    const m = /region (\S+) not found/.exec(err.message);
    const input = m && [...form.querySelectorAll('input, select')].find((i) => i.value.trim() === m[1]);
    const row = input && input.closest('[data-field]');
    if (row) {
      showErrors(form, { [row.dataset.field]: t('case.region.unknown') });
      say(t('form.invalid'));
      return true;
    }
  }
  if (err instanceof ApiError && err.status === 403 && forbiddenField && form.querySelector(`[data-field="${forbiddenField}"]`)) {
    showErrors(form, { [forbiddenField]: t('common.forbidden') });
    say(t('form.error', { message: err.message }));
    return true;
  }
  if (err instanceof ApiError && messages[err.status]) {
    say(messages[err.status]);
    return false;
  }
  say(t('form.error', { message: err instanceof NetworkError ? t('common.network') : err.message }));
  return false;
}
