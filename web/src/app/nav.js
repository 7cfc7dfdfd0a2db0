// Navigation inside the app, the frame of a signed-in page, and the
// installation's calendar.

import { h, mount } from '../lib/dom.js';
import { frame, card } from '../lib/layout.js';
import { session, endSession, get } from '../lib/api.js';
import { t, setZoneOffset } from '../i18n/index.js';

let router = () => {};
export function setRouter(f) {
  router = f;
}

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  router();
}

let calendar = null;
/** Today and yesterday where the installation is (fetched once). */
export function today() {
  if (!calendar) {
    calendar = get('/api/v1/calendar').then((c) => {
      setZoneOffset(c.utc_offset_minutes);
      return c;
    }, (e) => {
      calendar = null;
      throw e;
    });
  }
  return calendar;
}

/** Log out: the server ends the token, the tab forgets everything personal. */
export async function logout() {
  await endSession();
  calendar = null;
  navigate('/login', { replace: true });
}

/** Whether the user may do an action of the policy table (`read_cases`, …): the server says, at sign-in. */
export const can = (user, action) => Boolean(user) && Array.isArray(user.actions) && user.actions.includes(action);
/** Whether the user works with the line list (cases), and with close contacts' follow-up. */
export const seesCases = (user) => can(user, 'read_cases');
export const followsUp = (user) => can(user, 'follow_up');
/** Whether the user has a task list (directives, tips, alerts), and whether it issues directives and publishes. */
export const hasTasks = (user) => can(user, 'work_tasks');
export const commands = (user) => can(user, 'issue_directives');
/** Whether the user reads the command dashboard. */
export const seesDashboard = (user) => can(user, 'read_analytics');

/** The frame of a signed-in page; `active`: 'home', 'dashboard', 'cases', 'follow-ups', 'tasks', 'directives' or 'password'. */
export function appFrame(active) {
  const s = session();
  const user = s && s.user;
  const links = [
    { href: '/', key: 'nav.public' },
    { href: '/app', key: 'nav.home', current: active === 'home' },
  ];
  if (seesDashboard(user)) {
    links.push({ href: '/app/dashboard', key: 'nav.dashboard', current: active === 'dashboard' });
  }
  if (seesCases(user)) links.push({ href: '/app/cases', key: 'nav.cases', current: active === 'cases' });
  if (followsUp(user)) links.push({ href: '/app/follow-ups', key: 'nav.follow_ups', current: active === 'follow-ups' });
  if (hasTasks(user)) links.push({ href: '/app/tasks', key: 'nav.tasks', current: active === 'tasks' });
  if (commands(user)) links.push({ href: '/app/directives', key: 'nav.directives', current: active === 'directives' });
  return frame({ links, user, onLogout: logout, passwordCurrent: active === 'password' });
}

export function notFound() {
  const main = appFrame(null);
  mount(main, card(t('common.not_found'), '', h('p', null, h('a', { href: '/app' }, t('nav.home')))));
}
