// A labelled input with room for the API's message about it, next to it.

import { h } from '../lib/dom.js';

/** A field: its label, the input, and an empty error line (`#<id>-error`). */
export function fieldRow(id, label, input, hint) {
  input.setAttribute('aria-describedby', `${id}-error`);
  return h('div', { class: 'field', 'data-field': id },
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
    const input = row.querySelector('input, select');
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
