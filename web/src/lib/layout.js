// The frame of every page: the header (name, navigation, language switch,
// the signed-in user) and the main area.

import { h, mount } from './dom.js';
import { t, lang, setLang } from '../i18n/index.js';

/**
 * Render the frame into #root and return the <main> to fill.
 * `links`: [{href, key, current}], `user`: {display_name} or null (signed in:
 * their name, the way to change their password, and `onLogout`).
 */
export function frame({ links = [], user = null, onLogout = null, passwordCurrent = false } = {}) {
  const root = document.getElementById('root');
  const other = lang() === 'zh' ? 'en' : 'zh';
  const main = h('main', { id: 'main', tabindex: '-1' });
  document.title = t('app.title');
  mount(
    root,
    h('a', { class: 'skip', href: '#main' }, t('nav.skip')),
    h(
      'header',
      { class: 'top' },
      h('a', { class: 'brand', href: '/' }, t('app.name'), h('small', null, t('app.tagline'))),
      h(
        'nav',
        { 'aria-label': 'main' },
        links.map((l) => h('a', { href: l.href, 'aria-current': l.current ? 'page' : null }, t(l.key))),
        user ? h('span', { class: 'user', 'data-testid': 'user' }, user.display_name) : null,
        user ? h('a', { href: '/app/password', 'aria-current': passwordCurrent ? 'page' : null, 'data-testid': 'password-link' }, t('nav.password')) : null,
        onLogout ? h('button', { class: 'linkish', type: 'button', onclick: onLogout, 'data-testid': 'logout' }, t('nav.logout')) : null,
        h(
          'button',
          {
            class: 'linkish', type: 'button', lang: other === 'zh' ? 'zh-CN' : 'en',
            title: t('lang.switch.title'), 'data-testid': 'lang-switch',
            onclick: () => setLang(other),
          },
          t('lang.switch'),
        ),
      ),
    ),
    main,
    h('footer', null, t('app.title')),
  );
  return main;
}

export function card(title, cls, ...children) {
  return h('section', { class: 'card ' + (cls || '') }, title ? h('h2', null, title) : null, ...children);
}
