// The signed-in application: `/login`, then everything under `/app`.
//
//   /app                           the home page for the user's role and region
//   /app/dashboard?region=&date=   the command dashboard of a region
//   /app/report?form=&region=      a daily report form
//   /app/cases, /app/cases/new, /app/cases/{id}   the line list, the case form, a case
//   /app/follow-ups?region=        the close contacts due for follow-up today
//   /app/contacts/new?source=      the close-contact registration form
//   /app/tasks                     directives to act on, tips, alerts
//   /app/directives                command levels: issue directives, see who has not answered
//   /app/password                  change one's password (the other sessions end)
//
// Links inside the app change the address without reloading the page.

import '../styles.css';
import { session, clearSession, setUnauthenticatedHandler } from '../lib/api.js';
import { disposeCharts } from '../lib/charts.js';
import { onLangChange } from '../i18n/index.js';
import { navigate, setRouter, notFound } from './nav.js';
import { loginView } from './login.js';
import { homeView } from './home.js';
import { dashboardView } from './dashboard.js';
import { reportView } from './report.js';
import { casesView, caseFormView, caseView } from './cases.js';
import { followUpsView } from './followups.js';
import { contactFormView } from './contacts.js';
import { tasksView, directivesView } from './tasks.js';
import { passwordView } from './password.js';

setUnauthenticatedHandler(() => {
  clearSession();
  const next = location.pathname + location.search;
  navigate('/login?expired=1&next=' + encodeURIComponent(next), { replace: true });
});

function route() {
  disposeCharts();
  document.body.dataset.ready = 'false';
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const params = new URLSearchParams(location.search);
  if (path === '/login') return loginView(params);
  if (!session()) {
    navigate('/login?next=' + encodeURIComponent(location.pathname + location.search), { replace: true });
    return undefined;
  }
  if (path === '/app') return homeView();
  if (path === '/app/dashboard') return dashboardView(params);
  if (path === '/app/report') return reportView(params);
  if (path === '/app/cases') return casesView(params);
  if (path === '/app/cases/new') return caseFormView();
  if (path.startsWith('/app/cases/')) return caseView(decodeURIComponent(path.slice('/app/cases/'.length)), params);
  if (path === '/app/follow-ups') return followUpsView(params);
  if (path === '/app/contacts/new') return contactFormView(params);
  if (path === '/app/tasks') return tasksView();
  if (path === '/app/directives') return directivesView();
  if (path === '/app/password') return passwordView();
  return notFound();
}

// links inside the app: no reload
document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[href]') : null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin === location.origin && (url.pathname.startsWith('/app') || url.pathname === '/login')) {
    e.preventDefault();
    navigate(url.pathname + url.search);
  }
});
window.addEventListener('popstate', route);
onLangChange(route);
setRouter(route);
route();
