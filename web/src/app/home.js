// The home page: who you are, what you file today (the grid worker's zero
// report is one tap), and the way to your region's dashboard.

import { h, mount } from '../lib/dom.js';
import { card } from '../lib/layout.js';
import { get, session } from '../lib/api.js';
import { t } from '../i18n/index.js';
import { appFrame, today, can, seesCases, seesDashboard, followsUp, hasTasks, commands as issuesDirectives } from './nav.js';
import { reportCard } from './report.js';

export async function homeView() {
  const main = appFrame('home');
  const user = session().user;
  mount(main, h('p', { class: 'muted' }, t('dash.loading')));
  try {
    const [forms, region, cal] = await Promise.all([
      get('/api/v1/forms'),
      get(`/api/v1/regions/${encodeURIComponent(user.region_code)}`),
      today(),
    ]);
    const mine = forms.filter((f) => f.level === region.level && can(user, 'file_report'));
    const commands = seesDashboard(user);
    mount(main,
      h('h1', { 'data-testid': 'home-heading' }, t('home.heading', { name: user.display_name })),
      h('p', { class: 'muted' }, t('home.region', { region: region.name }), ' · ', t('home.role', { role: t('role.' + user.role) })),
      h('div', { class: 'grid' },
        commands ? card(null, 'span-12',
          h('a', { href: `/app/dashboard?region=${region.code}`, 'data-testid': 'home-dashboard' }, t('home.dashboard', { region: region.name }))) : null,
        mine.length
          ? mine.map((f) => reportCard(f, region, cal.today))
          : card(t('home.today'), 'span-12', h('p', null, t('home.nothing')), h('a', { href: '/' }, t('home.public'))),
        // the line list and the follow-up round, below the day's report (a zero report comes first)
        seesCases(user) || followsUp(user) || hasTasks(user) ? card(null, 'span-12',
          h('ul', { class: 'plain' },
            seesCases(user) ? h('li', null, h('a', { href: '/app/cases', 'data-testid': 'home-cases' }, t('home.cases', { region: region.name }))) : null,
            followsUp(user) ? h('li', null, h('a', { href: '/app/follow-ups', 'data-testid': 'home-follow-ups' }, t('home.follow_ups'))) : null,
            hasTasks(user) ? h('li', null, h('a', { href: '/app/tasks', 'data-testid': 'home-tasks' }, t('home.tasks'))) : null,
            issuesDirectives(user) ? h('li', null, h('a', { href: '/app/directives', 'data-testid': 'home-directives' }, t('home.directives'))) : null)) : null));
    document.body.dataset.ready = 'true';
  } catch (e) {
    mount(main, card(null, 'status bad', t('dash.failed', { message: e.message })));
  }
}
