// The browser tests: Debian's Chromium driven by playwright-core against a
// running `fangkong serve --demo` (crates/fangkong/tests/browser.rs starts it
// and runs this script; by hand: `node e2e/run.mjs --base http://127.0.0.1:8080`).
//
//   --base URL           the server
//   --screenshots DIR    where to save the screenshots (default: ../docs/screenshots)
//   --only NAME          run one test
//
// The tests: the public page, sign-in, the zero report on a phone, the
// dashboard's drill-down, a case entered with an error then fixed (and its
// events, a stale version refused), the chain view (the graph has the API's
// nodes), the follow-up list on a phone, a close contact registered from a
// case's page (an exposure after today refused next to its date, then the
// release date shown), a directive from the province to two
// cities (one acknowledges and completes it, the other is listed as not
// completed), a revision published from the dashboard with its reason, and the
// public page's release version, errata and tip line (too fast, then
// received; no personal data in any answer). They share one demo: the
// line-list tests add a case and two follow-ups to it, which later tests take
// in stride.
//
// Prints each test's time, the dashboard's load time (first paint to all
// charts drawn) and the time of every API call it makes; exits 1 when a test fails.

import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const BASE = arg('--base', 'http://127.0.0.1:8080').replace(/\/$/, '');
const SHOTS = resolve(arg('--screenshots', join(here, '../../docs/screenshots')));
const ONLY = arg('--only', null);
const CHROMIUM = process.env.FANGKONG_CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'fangkong2020';
const DESKTOP = { width: 1440, height: 1000 };
const PHONE = { width: 390, height: 844 };
// generous bounds: the debug build on 2 cores; the targets (1 s, 100 ms) are reported, not asserted
const MAX_DASHBOARD_MS = 15000;
const MAX_API_CALL_MS = 5000;

// personal data that must never reach the public page
const ID_NUMBER = /(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9])/;
const PHONE_NUMBER = /(?<![0-9])1[3-9][0-9]{9}(?![0-9])/;

if (!existsSync(CHROMIUM)) {
  console.error(`no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\``);
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });

function assert(cond, message) {
  if (!cond) throw new Error('assertion failed: ' + message);
}

const userDataDir = mkdtempSync(join(tmpdir(), 'fangkong-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  locale: 'zh-CN',
  viewport: DESKTOP,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage',
  ],
});
context.setDefaultTimeout(30000);

/** A new page that records problems: script errors and Content-Security-Policy violations. */
async function newPage(viewport = DESKTOP) {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    const text = m.text();
    if (/Content Security Policy|Refused to (load|apply|execute|connect)/i.test(text)) page.problems.push('CSP: ' + text);
    if (m.type() === 'error' && !/Failed to load resource/.test(text)) page.problems.push('console error: ' + text);
  });
  return page;
}

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
}

async function reset(page) {
  await page.goto(BASE + '/login');
  await page.evaluate(() => {
    localStorage.clear();
    sessionStorage.clear();
  });
}

async function signIn(page, username, lang) {
  await reset(page);
  if (lang) await page.evaluate((l) => localStorage.setItem('fk.lang', l), lang);
  await page.goto(BASE + '/login');
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await page.click('[data-testid="login-submit"]');
  await page.waitForURL(/\/app$/);
  await page.waitForSelector('[data-testid="home-heading"]');
}

async function shot(page, name, { fullPage = true } = {}) {
  await page.screenshot({ path: join(SHOTS, name), fullPage });
}

async function switchLanguage(page) {
  await page.click('[data-testid="lang-switch"]');
}

const results = [];
const timings = {};

async function test(name, f) {
  if (ONLY && ONLY !== name) return;
  const started = Date.now();
  let page = null;
  try {
    await f((p) => (page = p));
    if (page && page.problems.length) throw new Error(page.problems.join('\n'));
    results.push({ name, ok: true, ms: Date.now() - started });
    console.log(`ok    ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - started, error: e });
    console.log(`FAIL  ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)\n${e.stack || e}`);
    if (page) {
      try {
        const path = join(tmpdir(), `fangkong-e2e-failure-${name}.png`);
        await page.screenshot({ path, fullPage: true });
        console.log(`      the page at the failure: ${path}`);
      } catch {
        // the page may be gone
      }
    }
  } finally {
    if (page) await page.close();
  }
}

// ---------------------------------------------------------------------------

await test('public-page', async (use) => {
  const page = use(await newPage(DESKTOP));
  const bodies = [];
  page.on('response', async (res) => {
    if (!res.url().startsWith(BASE)) return;
    const type = res.headers()['content-type'] || '';
    if (!/json|text|javascript|csv/.test(type)) return;
    try {
      bodies.push({ url: res.url(), text: await res.text() });
    } catch {
      // a redirect or an aborted request has no body
    }
  });
  const response = await page.goto(BASE + '/');
  const csp = response.headers()['content-security-policy'] || '';
  assert(csp.includes("default-src 'self'") && !csp.includes('unsafe'), 'the page has a strict CSP: ' + csp);
  await ready(page);
  // the browser's language (zh-CN) chose Chinese
  assert((await page.getAttribute('html', 'lang')) === 'zh-CN', 'the page is in Chinese');
  const zh = await page.textContent('[data-testid="bulletin-zh"]');
  const en = await page.textContent('[data-testid="bulletin-en"]');
  assert(/累计报告确诊病例\d+例/.test(zh), 'the Chinese bulletin is in the DOM: ' + zh);
  assert(/confirmed cases/.test(en), 'the English bulletin is in the DOM: ' + en);
  assert(await page.isVisible('[data-testid="trend-chart"] canvas'), 'the trend chart is drawn');
  assert(await page.isVisible('[data-testid="province-map"] canvas'), 'the map is drawn');
  // the published release: its version, the open data built from releases, an errata section
  assert(Number(await page.getAttribute('[data-testid="release-version"]', 'data-version')) >= 1, 'the release\'s version is shown');
  assert(await page.isVisible('[data-testid="errata"]'), 'an errata section');
  assert((await page.locator('a[href*="/api/v1/public/open-data.csv?level=nation"]').count()) === 1, 'an open-data CSV link');
  await shot(page, 'public-zh.png');
  // the downloads are real
  const csv = await page.evaluate(async () => (await fetch(document.querySelector('a[href*="open-data.csv?level=province"]').href)).text());
  assert(csv.startsWith('date,region_code,name,') && csv.includes('420000,湖北省'), 'the provinces CSV: ' + csv.slice(0, 200));
  bodies.push({ url: 'regions.csv', text: csv });

  await switchLanguage(page);
  await ready(page);
  assert((await page.getAttribute('html', 'lang')) === 'en', 'switched to English');
  assert((await page.textContent('h1')).includes('Daily bulletin'), 'English heading');
  await shot(page, 'public-en.png');

  const text = await page.evaluate(() => document.body.innerText);
  bodies.push({ url: 'DOM', text });
  for (const b of bodies) {
    const id = ID_NUMBER.exec(b.text);
    const phone = PHONE_NUMBER.exec(b.text);
    assert(!id, `no ID number in ${b.url}: ${id && id[0]}`);
    assert(!phone, `no phone number in ${b.url}: ${phone && phone[0]}`);
  }
  assert(bodies.some((b) => b.url.includes('/api/v1/public/releases')), 'the release was fetched');
  timings.publicResponses = bodies.length;
});

await test('sign-in', async (use) => {
  const page = use(await newPage(DESKTOP));
  await reset(page);
  await page.goto(BASE + '/app');
  // not signed in: to the sign-in page, and back after it
  await page.waitForURL(/\/login\?next=/);
  await page.fill('#username', 'wuhan');
  await page.fill('#password', 'not the password');
  await page.click('[data-testid="login-submit"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="error-password"]').textContent.length > 0);
  assert((await page.textContent('[data-testid="error-password"]')).includes('用户名或密码错误'), 'the error is next to the password');
  assert((await page.inputValue('#username')) === 'wuhan', 'the username is kept');
  await page.fill('#password', PASSWORD);
  await page.click('[data-testid="login-submit"]');
  await page.waitForURL(/\/app$/);
  const heading = await page.textContent('[data-testid="home-heading"]');
  assert(heading.includes('武汉市指挥部'), 'the home page greets the user: ' + heading);
  assert(await page.isVisible('[data-testid="home-dashboard"]'), 'a command sees the way to the dashboard');
  await page.click('[data-testid="logout"]');
  await page.waitForURL(/\/login$/);
});

await test('zero-report-phone', async (use) => {
  const page = use(await newPage(PHONE));
  await signIn(page, 'grid');
  await page.waitForSelector('[data-testid="zero-grid"]');
  const box = await page.locator('[data-testid="zero-grid"]').boundingBox();
  assert(box && box.width >= 300 && box.height >= 56, 'the zero button is big enough to tap: ' + JSON.stringify(box));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(overflow <= 1, `nothing wider than the phone (${overflow}px too wide)`);
  await page.waitForFunction(() => !document.querySelector('[data-testid="current-grid"]').textContent.includes('…'));
  await shot(page, 'zero-report-zh.png');

  // a field error from the API is shown next to its field, and what was typed stays
  await page.fill('[id="values.households_visited"]', '十二');
  for (const f of ['returnees_registered', 'fever_found', 'home_observation']) await page.fill(`[id="values.${f}"]`, '0');
  await page.click('[data-testid="submit-grid"]');
  const err = page.locator('[data-testid="error-values.households_visited"]');
  await err.filter({ hasText: /./ }).waitFor();
  assert((await err.textContent()).includes('must be a JSON number'), 'the API says what is wrong: ' + (await err.textContent()));
  assert((await page.inputValue('[id="values.households_visited"]')) === '十二', 'the typed value is kept');

  // the network drops as the worker taps: the report waits and goes when it is back
  await context.setOffline(true);
  const tapped = Date.now();
  await page.click('[data-testid="zero-grid"]');
  await page.waitForSelector('[data-testid="status-grid"].warn');
  await context.setOffline(false);
  await page.waitForSelector('[data-testid="status-grid"].ok', { timeout: 40000 });
  timings.zeroReportWithOutageMs = Date.now() - tapped;
  const status = await page.textContent('[data-testid="status-grid"]');
  assert(/零报告已提交|与上次提交相同|已更正/.test(status), 'filed: ' + status);

  // online, one tap files (or confirms) it at once
  const again = Date.now();
  await page.click('[data-testid="zero-grid"]');
  await page.waitForFunction(() => /与上次提交相同/.test(document.querySelector('[data-testid="status-grid"]').textContent));
  timings.zeroReportTapMs = Date.now() - again;

  await switchLanguage(page);
  await page.waitForSelector('[data-testid="zero-grid"]');
  await page.waitForFunction(() => /version|Not filed/.test(document.querySelector('[data-testid="current-grid"]').textContent));
  assert((await page.textContent('[data-testid="zero-grid"]')).includes('Nothing to report today'), 'English button');
  await shot(page, 'zero-report-en.png');
});

await test('dashboard-drill-down', async (use) => {
  const page = use(await newPage(DESKTOP));
  await signIn(page, 'hubei', 'zh');
  const calls = [];
  page.on('requestfinished', (req) => {
    if (!req.url().includes('/api/')) return;
    const t = req.timing();
    calls.push({ url: req.url().replace(BASE, ''), ms: t.responseEnd });
  });
  // a fresh load of the province's dashboard, timed in the browser
  await page.goto(BASE + '/app/dashboard?region=420000');
  await ready(page);
  const measured = await page.evaluate(() => {
    const paint = performance.getEntriesByType('paint');
    const first = (paint.find((p) => p.name === 'first-paint') || paint[0] || { startTime: 0 }).startTime;
    const api = performance.getEntriesByType('resource')
      .filter((r) => r.name.includes('/api/'))
      .map((r) => ({ url: r.name.replace(location.origin, ''), ms: Math.round(r.responseEnd - r.startTime) }));
    const marks = Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, Math.round(m.startTime)]));
    const nav = performance.getEntriesByType('navigation')[0];
    return { firstPaint: first, drawn: window.__fk.chartsDrawn, api, marks: { ...marks, domContentLoaded: Math.round(nav.domContentLoadedEventEnd), firstPaint: Math.round(first), drawn: Math.round(window.__fk.chartsDrawn) } };
  });
  timings.dashboardLoadMs = Math.round(measured.drawn - measured.firstPaint);
  timings.dashboardApi = measured.api;
  timings.dashboardMarks = measured.marks;
  assert(timings.dashboardLoadMs > 0 && timings.dashboardLoadMs < MAX_DASHBOARD_MS, `the dashboard drew in ${timings.dashboardLoadMs} ms`);
  for (const c of measured.api) assert(c.ms < MAX_API_CALL_MS, `${c.url} took ${c.ms} ms`);
  assert(measured.api.some((c) => c.url.startsWith('/api/v1/dashboard')), 'the dashboard call was made');

  assert((await page.getAttribute('[data-testid="dash-heading"]', 'data-region')) === '420000', 'Hubei');
  const headline = await page.textContent('[data-testid="headline"]');
  assert(headline.includes('累计确诊病例') && headline.includes('较前一日'), 'headline figures with the day\'s change');
  assert((await page.getAttribute('[data-testid="region-map"]', 'data-geometry')) === 'map', 'a map of the cities');
  assert((await page.textContent('[data-testid="completeness-summary"]')).includes('应报'), 'completeness');
  await shot(page, 'dashboard-zh.png');

  // click Wuhan on the map: down to its districts
  const point = await page.evaluate(() => window.__fk.mapPoint('420100'));
  assert(point, 'Wuhan is on the map');
  await page.mouse.click(point.x, point.y);
  await page.waitForURL(/region=420100/);
  await page.waitForSelector('[data-testid="dash-heading"][data-region="420100"]');
  await ready(page);
  assert((await page.textContent('[data-testid="crumb-current"]')).includes('武汉市'), 'in Wuhan');
  assert(await page.isVisible('[data-testid="crumb-420000"]'), 'the way back to Hubei');
  assert((await page.getAttribute('[data-testid="region-map"]', 'data-geometry')) === 'map', 'a map of the districts');
  // and on to 黄陂区 (a county: its townships are ranked, there is no map that deep)
  const huangpi = await page.evaluate(() => window.__fk.mapPoint('420116'));
  assert(huangpi, '黄陂区 is on the map');
  await page.mouse.click(huangpi.x, huangpi.y);
  await page.waitForSelector('[data-testid="dash-heading"][data-region="420116"]');
  await ready(page);
  assert((await page.getAttribute('[data-testid="region-map"]', 'data-geometry')) === 'bars', 'the townships ranked');
  // back up, by the button and by the breadcrumb
  await page.click('[data-testid="go-up"]');
  await page.waitForSelector('[data-testid="dash-heading"][data-region="420100"]');
  await ready(page);
  await page.click('[data-testid="crumb-420000"]');
  await page.waitForSelector('[data-testid="dash-heading"][data-region="420000"]');
  await ready(page);
  // another measure on the map
  await page.selectOption('[data-testid="measure"]', 'risk');
  await page.waitForURL(/measure=risk/);
  await ready(page);

  await page.selectOption('[data-testid="measure"]', 'new_confirmed');
  await ready(page);
  await switchLanguage(page);
  await ready(page);
  assert((await page.textContent('[data-testid="dash-heading"]')).includes('Command dashboard'), 'English dashboard');
  await shot(page, 'dashboard-en.png');
  timings.drillDownCalls = calls.length;
});

// ---- the line list -----------------------------------------------------------

/** An 18-character resident ID number with its check character (GB 11643). */
function idNumber(first17) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((acc, d, i) => acc + Number(d) * weights[i], 0);
  return first17 + '10X98765432'[sum % 11];
}

/** GET an API path with the page's session. */
async function apiGet(page, path) {
  return page.evaluate(async (p) => {
    const s = JSON.parse(sessionStorage.getItem('fk.session'));
    const r = await fetch(p, { headers: { authorization: `Bearer ${s.token}` } });
    return { status: r.status, body: await r.json() };
  }, path);
}

async function apiPost(page, path, body) {
  return page.evaluate(async ([p, b]) => {
    const s = JSON.parse(sessionStorage.getItem('fk.session'));
    const r = await fetch(p, { method: 'POST', headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }, body: JSON.stringify(b) });
    return { status: r.status, body: await r.json() };
  }, [path, body]);
}

await test('case-entry', async (use) => {
  const page = use(await newPage(DESKTOP));
  await signIn(page, 'jianghan', 'zh');
  await page.click('[data-testid="home-cases"]');
  await page.waitForURL(/\/app\/cases$/);
  await ready(page);
  assert((await page.locator('[data-testid="cases-table"] tbody tr').count()) > 0, 'the county sees its cases');
  // a page at a time
  const firstRow = await page.getAttribute('[data-testid="cases-table"] tbody tr', 'data-case');
  await page.click('[data-testid="cases-next"]');
  await page.waitForURL(/after=/);
  await ready(page);
  assert((await page.getAttribute('[data-testid="cases-table"] tbody tr', 'data-case')) > firstRow, 'the next page goes on by case id');
  await page.click('[data-testid="cases-first"]');
  await ready(page);
  await page.click('[data-testid="cases-new"]');
  await page.waitForURL(/\/app\/cases\/new$/);
  await ready(page);

  const caseId = `E2E-${Date.now() % 1000000}`;
  const bad = '420103199001011234';
  const good = idNumber('42010319900101123');
  assert(good !== bad, 'the good ID number differs');
  const cal = (await apiGet(page, '/api/v1/calendar')).body;
  await page.fill('#case_id', caseId);
  await page.fill('#name', '测试病例');
  await page.fill('#id_number', bad);
  await page.fill('#age', '36');
  await page.fill('#phone', '027-8561234');
  await page.fill('#address', '江汉区新华路1号');
  await page.fill('#onset_date', cal.yesterday);
  await page.selectOption('#classification', 'confirmed');
  await page.fill('#confirmation_date', cal.today);
  await page.selectOption('#severity', 'mild');
  await page.fill('#source_case_ids', 'WH-0001');
  await page.click('[data-testid="case-submit"]');
  // the API's error, next to the ID number; what was typed stays
  const err = page.locator('[data-testid="error-id_number"]');
  await err.filter({ hasText: /./ }).waitFor();
  assert((await err.textContent()).includes('check character'), 'the error names the ID number: ' + (await err.textContent()));
  assert((await page.getAttribute('#id_number', 'aria-invalid')) === 'true', 'the ID number is marked');
  assert((await page.inputValue('#id_number')) === bad && (await page.inputValue('#name')) === '测试病例', 'the typed values are kept');
  assert((await page.textContent('[data-testid="error-onset_date"]')) === '', 'no error on the other fields');
  await shot(page, 'case-form-zh.png');

  // a reload (or a language switch) keeps what was typed
  await switchLanguage(page);
  await ready(page);
  assert((await page.inputValue('#case_id')) === caseId && (await page.inputValue('#id_number')) === bad, 'the draft survives a re-render');
  assert((await page.inputValue('#classification')) === 'confirmed' && (await page.inputValue('#confirmation_date')) === cal.today, 'the choices survive too');
  await page.click('[data-testid="case-submit"]');
  await err.filter({ hasText: /./ }).waitFor();
  assert((await page.textContent('[data-testid="case-status"]')).includes('Please correct'), 'English status');
  await shot(page, 'case-form-en.png');

  // fixed, and sent while the network is down: it waits, then the case is reported and its page shows it
  await page.fill('#id_number', good);
  await context.setOffline(true);
  await page.click('[data-testid="case-submit"]');
  await page.waitForSelector('[data-testid="case-status"].warn');
  await context.setOffline(false);
  await page.waitForURL(new RegExp(`/app/cases/${caseId}\\?created=1$`));
  await ready(page);
  assert((await page.getAttribute('[data-testid="case-heading"]', 'data-case')) === caseId, 'the new case page');
  assert((await page.textContent('[data-testid="case-page-status"]')).includes('Case reported'), 'reported: ' + (await page.textContent('[data-testid="case-page-status"]')));
  assert((await page.textContent('[data-testid="case-classification"]')).includes('confirmed case'), 'confirmed');
  assert((await page.textContent('main')).includes(good), 'the case page shows the full ID number');
  assert(await page.evaluate(() => sessionStorage.getItem('fk.draft.case.new') === null), 'the draft is gone');
  const history = await page.locator('[data-testid="case-history"] tbody tr').count();
  assert(history === 3, `reported, confirmed, severity: ${history} rows`);

  // the next event, against the version shown
  await page.click('[data-testid="event-set_severity"]');
  await page.selectOption('#ev-severity', 'severe');
  await page.click('[data-testid="event-submit"]');
  await page.waitForSelector('[data-testid="case-heading"][data-version="4"]');
  assert((await page.textContent('[data-testid="case-page-status"]')).includes('version 4'), 'recorded');

  // someone else changes the case meanwhile: the page says so, and a reload shows it
  const other = await apiPost(page, `/api/v1/cases/${caseId}/events`, { expected_version: 4, event: 'admit', date: cal.today, facility_region: '420112', facility_name: '金银潭医院' });
  assert(other.status === 200, 'the other change: ' + JSON.stringify(other.body));
  await page.click('[data-testid="event-set_severity"]');
  await page.selectOption('#ev-severity', 'critical');
  await page.click('[data-testid="event-submit"]');
  await page.waitForSelector('[data-testid="event-conflict"]');
  assert((await page.textContent('[data-testid="event-conflict"]')).includes('someone else'), 'a stale version is refused');
  await page.click('[data-testid="case-reload"]');
  await page.waitForSelector('[data-testid="case-heading"][data-version="5"]');
  // a rule of the state machine, next to its field
  await page.click('[data-testid="event-discharge"]');
  await page.fill('#ev-date', '2020-01-01');
  await page.click('[data-testid="event-submit"]');
  const dateErr = page.locator('[data-testid="error-ev-date"]');
  await dateErr.filter({ hasText: /./ }).waitFor();
  timings.caseRule = await dateErr.textContent();
});

await test('chain-view', async (use) => {
  const page = use(await newPage(DESKTOP));
  await signIn(page, 'jianghan', 'zh');
  await page.goto(BASE + '/app/cases/WH-0001');
  await ready(page);
  const drawn = async (testid, depth) => {
    await page.waitForSelector(`[data-testid="${testid}-chart"][data-ready="true"][data-depth="${depth}"]`);
    return page.evaluate((sel) => window.__fk.chartSeries(sel), `[data-testid="${testid}-chart"]`);
  };
  let series = await drawn('chain', '2');
  const api = (await apiGet(page, '/api/v1/cases/WH-0001/chain?depth=2')).body;
  assert(series && series[0].type === 'graph', 'an ECharts graph');
  assert(series[0].data === api.nodes.length && api.nodes.length > 5, `the graph has the API's ${api.nodes.length} nodes: ${series[0].data}`);
  assert(series[0].links === api.edges.length, `and its ${api.edges.length} links: ${series[0].links}`);
  const hidden = api.nodes.filter((n) => !n.visible);
  assert(hidden.length > 0 && hidden.every((n) => !('name' in n)), 'other counties\' people come without names');
  assert(api.nodes.some((n) => n.kind === 'contact') && api.nodes.some((n) => n.kind === 'case'), 'cases and contacts');
  timings.chain = { nodes: api.nodes.length, edges: api.edges.length, otherCounties: hidden.length };
  const chainCard = page.locator('section.card', { has: page.locator('[data-testid="chain-chart"]') });
  await chainCard.screenshot({ path: join(SHOTS, 'chain-zh.png') });

  // another depth
  await page.selectOption('[data-testid="chain-depth"]', '1');
  series = await drawn('chain', '1');
  const one = (await apiGet(page, '/api/v1/cases/WH-0001/chain?depth=1')).body;
  assert(series[0].data === one.nodes.length && one.nodes.length < api.nodes.length, `depth 1: ${one.nodes.length} nodes, drawn ${series[0].data}`);

  await switchLanguage(page);
  await ready(page);
  series = await drawn('chain', '2');
  assert(series[0].data === api.nodes.length, 'redrawn in English');
  assert((await page.textContent('[data-testid="chain-summary"]')).includes('people'), 'English summary');
  await chainCard.screenshot({ path: join(SHOTS, 'chain-en.png') });

  // the dashboard's clusters: click the largest, see its chain
  await page.goto(BASE + '/app/dashboard?region=420103');
  await ready(page);
  await page.click('[data-testid="cluster-0"]');
  series = await drawn('cluster-chain', '2');
  assert(series[0].data > 1, 'the cluster\'s chain is drawn: ' + series[0].data);
});

await test('follow-up-phone', async (use) => {
  const page = use(await newPage(PHONE));
  await signIn(page, 'jianghan', 'zh');
  await page.click('[data-testid="home-follow-ups"]');
  await page.waitForURL(/\/app\/follow-ups$/);
  await ready(page);
  const ids = await page.$$eval('[data-testid="due-list"] li[data-contact]', (lis) => lis.map((li) => li.dataset.contact));
  assert(ids.length >= 2, 'contacts are due today: ' + ids.length);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(overflow <= 1, `nothing wider than the phone (${overflow}px too wide)`);
  const box = await page.locator(`[data-testid="fu-normal-${ids[0]}"]`).boundingBox();
  assert(box && box.height >= 44, 'a button big enough to tap: ' + JSON.stringify(box));
  await shot(page, 'follow-up-zh.png', { fullPage: false });

  // one tap, through a network outage: the contact leaves the due list
  const first = ids[0];
  await context.setOffline(true);
  const tapped = Date.now();
  await page.click(`[data-testid="fu-normal-${first}"]`);
  await page.waitForSelector(`li[data-contact="${first}"] .status.warn`);
  await context.setOffline(false);
  await page.waitForSelector(`[data-testid="done-list"] li[data-contact="${first}"]`, { timeout: 40000 });
  timings.followUpWithOutageMs = Date.now() - tapped;
  assert((await page.locator(`[data-testid="due-list"] li[data-contact="${first}"]`).count()) === 0, 'off the due list');

  // fever: recorded, then turned into a suspected case in one step
  const second = ids[1];
  await page.click(`[data-testid="fu-fever-${second}"]`);
  await page.fill(`#fever-temp-${second}`, '38.4');
  await page.check(`[data-testid="symptom-cough-${second}"]`);
  await page.click(`[data-testid="fu-fever-submit-${second}"]`);
  await page.waitForSelector(`[data-testid="fu-convert-${second}"]`);
  await page.click(`[data-testid="fu-convert-${second}"]`);
  await page.waitForSelector(`[data-testid="fu-converted-${second}"]`);
  assert((await page.textContent(`[data-testid="fu-converted-${second}"]`)).includes(`${second}-S`), 'the new suspected case');

  // a fresh list from the server agrees
  await page.reload();
  await ready(page);
  const after = await page.$$eval('[data-testid="due-list"] li[data-contact]', (lis) => lis.map((li) => li.dataset.contact));
  assert(!after.includes(first) && !after.includes(second), 'both are off the due list after a reload');
  assert(after.length === ids.length - 2, `${ids.length - 2} still due, ${after.length} listed`);
  await switchLanguage(page);
  await ready(page);
  assert((await page.textContent('[data-testid="fu-heading"]')).includes('Follow-up due'), 'English list');
  await shot(page, 'follow-up-en.png', { fullPage: false });
});


await test('contact-registration', async (use) => {
  const page = use(await newPage(DESKTOP));
  await signIn(page, 'jianghan', 'zh');
  await page.goto(BASE + '/app/cases/WH-0001');
  await ready(page);
  await page.click('[data-testid="case-new-contact"]');
  await page.waitForURL(/\/app\/contacts\/new\?source=WH-0001$/);
  await ready(page);
  assert((await page.inputValue('#links-0-source_case_id')) === 'WH-0001', 'the source case is prefilled');
  const cal = (await apiGet(page, '/api/v1/calendar')).body;
  const plus = (date, days) => new Date(Date.parse(date + 'T00:00:00Z') + days * 86400000).toISOString().slice(0, 10);
  const contactId = `E2E-C-${Date.now() % 1000000}`;
  await page.fill('#contact_id', contactId);
  await page.fill('#name', '测试密接');
  await page.fill('#phone', '027-8561235');
  await page.selectOption('#links-0-exposure', 'work');
  await page.fill('#links-0-last_exposure_date', plus(cal.today, 3));
  await page.click('[data-testid="contact-submit"]');
  // exposed after today: the error next to that date, what was typed kept
  const err = page.locator('[data-testid="error-links-0-last_exposure_date"]');
  await err.filter({ hasText: /./ }).waitFor();
  assert((await page.getAttribute('#links-0-last_exposure_date', 'aria-invalid')) === 'true', 'the date is marked');
  assert((await page.textContent('[data-testid="error-links-0-source_case_id"]')) === '', 'no error on the source case');
  assert((await page.inputValue('#name')) === '测试密接', 'the typed values are kept');
  await shot(page, 'contact-form-zh.png');

  // fixed: registered, and the page says when observation ends
  const last = plus(cal.today, -2);
  await page.fill('#links-0-last_exposure_date', last);
  await page.click('[data-testid="contact-submit"]');
  await page.waitForSelector('[data-testid="contact-registered"]');
  const release = plus(last, 14);
  assert((await page.getAttribute('[data-testid="contact-registered"]', 'data-release')) === release, 'released 14 days after the last exposure');
  assert((await page.textContent('[data-testid="contact-registered"]')).includes(release), 'the release date is shown');
  assert(await page.evaluate(() => sessionStorage.getItem('fk.draft.contact.new') === null), 'the draft is gone');
  const stored = await apiGet(page, `/api/v1/contacts/${contactId}`);
  assert(stored.status === 200 && stored.body.links[0].source_case_id === 'WH-0001' && stored.body.links[0].exposure === 'work', 'stored: ' + JSON.stringify(stored.body));
});


await test('directives', async (use) => {
  const page = use(await newPage(DESKTOP));
  // the province issues a directive to two cities
  await signIn(page, 'hubei', 'zh');
  assert(await page.isVisible('[data-testid="home-directives"]'), 'the home page links to the directives');
  await page.click('nav a[href="/app/directives"]');
  await page.waitForURL(/\/app\/directives$/);
  await ready(page);
  const text = `开展重点场所排查（e2e ${Date.now() % 100000}）`;
  await page.fill('#dir-text', text);
  const cal = (await apiGet(page, '/api/v1/calendar')).body;
  await page.fill('#dir-deadline', `${cal.today}T23:59`);
  // a directive with no target is refused next to the targets
  await page.click('[data-testid="dir-submit"]');
  await page.locator('[data-testid="error-targets"]').filter({ hasText: /./ }).waitFor();
  await page.check('[data-testid="target-420100"]');
  await page.check('[data-testid="target-420200"]');
  await page.click('[data-testid="dir-submit"]');
  const item = page.locator('[data-testid="directives"] li', { hasText: text });
  await item.waitFor();
  const id = (await item.getAttribute('data-testid')).replace('directive-', '');
  assert((await item.locator('[data-testid="not-acknowledged"]').textContent()).includes('武汉市'), 'Wuhan has not acknowledged yet');

  // the city acknowledges, then completes it with a note
  await signIn(page, 'wuhan', 'zh');
  await page.click('[data-testid="home-tasks"]');
  await page.waitForURL(/\/app\/tasks$/);
  await ready(page);
  const task = page.locator(`[data-testid="task-directive-${id}"]`);
  assert((await task.textContent()).includes(text), 'the directive is in the city\'s tasks');
  await page.click(`[data-testid="ack-${id}"]`);
  await page.waitForSelector(`[data-testid="task-directive-${id}"][data-status="acknowledged"]`);
  await page.fill(`#complete-note-${id}`, '已排查全市重点场所');
  await page.click(`[data-testid="complete-${id}"]`);
  await page.waitForFunction((i) => !document.querySelector(`[data-testid="task-directive-${i}"]`), id);

  // the province sees the other city as not completed
  await signIn(page, 'hubei', 'zh');
  await page.goto(BASE + '/app/directives');
  await ready(page);
  const after = page.locator(`[data-testid="directive-${id}"]`);
  const notDone = await after.locator('[data-testid="not-completed"]').textContent();
  assert(notDone.includes('黄石市') && !notDone.includes('武汉市'), 'Huangshi has not completed, Wuhan has: ' + notDone);
  assert((await after.textContent()).includes('已排查全市重点场所'), 'Wuhan\'s note');
  await shot(page, 'directives-zh.png', { fullPage: false });
  await switchLanguage(page);
  await ready(page);
  assert((await page.textContent('[data-testid="directives-heading"]')).includes('Directives'), 'English directives');
  await shot(page, 'directives-en.png', { fullPage: false });
});

await test('publish-revision', async (use) => {
  const page = use(await newPage(DESKTOP));
  await signIn(page, 'hubei', 'zh');
  const cal = (await apiGet(page, '/api/v1/calendar')).body;
  // today is not published yet: the dashboard's button publishes version 1
  await page.goto(BASE + `/app/dashboard?region=420000&date=${cal.today}`);
  await ready(page);
  await page.click('[data-testid="publish"]');
  await page.waitForSelector('[data-testid="publish-status"].ok');
  // the county files different figures for today; publishing again needs a reason
  await signIn(page, 'jianghan', 'zh');
  const filed = await apiPost(page, '/api/v1/reports', {
    form: 'epidemic', region_code: '420103', date: cal.today,
    values: { new_confirmed: 97, new_suspected: 3, new_severe: 1, new_deaths: 0, new_recovered: 2, current_severe: 5, current_suspected: 4, current_observation: 120 },
  });
  assert(filed.status < 300, 'the county filed: ' + JSON.stringify(filed));
  await signIn(page, 'hubei', 'zh');
  await page.goto(BASE + `/app/dashboard?region=420000&date=${cal.today}`);
  await ready(page);
  await page.click('[data-testid="publish"]');
  const reasonErr = page.locator('[data-testid="error-publish-reason"]');
  await reasonErr.filter({ hasText: /./ }).waitFor();
  assert(await page.isVisible('#publish-reason'), 'the reason input is shown');
  await page.fill('#publish-reason', '江汉区补报当日确诊病例');
  await page.click('[data-testid="publish"]');
  await page.waitForSelector('[data-testid="publish-status"].ok');
  assert((await page.textContent('[data-testid="publish-status"]')).includes('第2版'), 'version 2 published');
});

await test('public-release-and-tip', async (use) => {
  const page = use(await newPage(DESKTOP));
  const bodies = [];
  page.on('response', async (res) => {
    if (!res.url().startsWith(BASE)) return;
    const type = res.headers()['content-type'] || '';
    if (!/json|text|javascript|csv/.test(type)) return;
    try {
      bodies.push({ url: res.url(), text: await res.text() });
    } catch {
      // no body
    }
  });
  await reset(page);
  await page.goto(BASE + '/');
  await page.waitForSelector('[data-testid="tip-form"]');
  // sent at once: refused as too fast, the message shown
  await page.fill('#tip-what', '小区内多人发热，未见登记');
  await page.fill('#tip-region', '江汉区 420103');
  await page.fill('#tip-contact', '13912345678');
  await page.click('[data-testid="tip-submit"]');
  await page.waitForSelector('[data-testid="tip-status"].bad');
  const refused = await page.textContent('[data-testid="tip-status"]');
  assert(refused.includes('提交过快'), 'refused as too fast: ' + refused);
  assert((await page.inputValue('#tip-what')).includes('多人发热'), 'what was typed is kept');
  // after waiting, accepted and forwarded
  await page.waitForTimeout(3200);
  await page.click('[data-testid="tip-submit"]');
  await page.waitForSelector('[data-testid="tip-status"].ok');
  const receipt = await page.textContent('[data-testid="tip-status"]');
  assert(/已转交.+处理/.test(receipt), 'received and forwarded: ' + receipt);
  await ready(page);

  // the release's version and the errata (the province's revision of today)
  const version = await page.getAttribute('[data-testid="release-version"]', 'data-version');
  assert(Number(version) >= 1, 'the release\'s version is shown: ' + version);
  assert((await page.textContent('[data-testid="release-version"]')).includes('版'), 'the version line');
  await page.waitForSelector('#errata');
  const errata = await page.textContent('[data-testid="errata"]');
  assert(errata.includes('勘误') && errata.includes('江汉区补报当日确诊病例'), 'the errata list the revision and why: ' + errata.slice(0, 300));
  assert(errata.includes('湖北省'), 'the erratum names the region');
  await page.locator('#errata').scrollIntoViewIfNeeded();
  await shot(page, 'public-tip-zh.png', { fullPage: false });
  await switchLanguage(page);
  await ready(page);
  assert((await page.textContent('[data-testid="errata"]')).includes('Errata'), 'English errata');
  await page.locator('#errata').scrollIntoViewIfNeeded();
  await shot(page, 'public-tip-en.png', { fullPage: false });

  bodies.push({ url: 'DOM', text: await page.evaluate(() => document.body.innerText) });
  assert(bodies.some((b) => b.url.includes('/api/v1/tips')), 'the tip\'s answer was checked');
  for (const b of bodies) {
    const id = ID_NUMBER.exec(b.text);
    const phone = PHONE_NUMBER.exec(b.text);
    assert(!id, `no ID number in ${b.url}: ${id && id[0]}`);
    assert(!phone, `no phone number in ${b.url}: ${phone && phone[0]}`);
  }

  // the tip is a task of the responsible unit, with the contact for it alone
  await signIn(page, 'jianghan', 'zh');
  const tasks = (await apiGet(page, '/api/v1/tasks')).body.tasks;
  const tip = tasks.find((x) => x.kind === 'tip' && x.text.includes('多人发热'));
  assert(tip, 'the tip is in the county\'s tasks');
  await page.goto(BASE + '/app/tasks');
  await ready(page);
  const li = page.locator(`[data-testid="task-tip-${tip.id}"]`);
  if (tip.contact) assert((await li.textContent()).includes(tip.contact), 'the responsible unit sees the contact');
  await page.fill(`#handle-note-${tip.id}`, '已上门核实');
  await page.click(`[data-testid="handle-${tip.id}"]`);
  await page.waitForFunction((i) => !document.querySelector(`[data-testid="task-tip-${i}"]`), tip.id);
});

await test('logout-and-password', async (use) => {
  const page = use(await newPage(DESKTOP));
  await signIn(page, 'jianghan', 'zh');
  const stored = () => page.evaluate(() => {
    const all = (store) => Object.fromEntries(Object.keys(store).map((k) => [k, store.getItem(k)]));
    return { local: all(localStorage), session: all(sessionStorage) };
  });
  // the token is in this tab only; a case draft with an ID number goes there too
  await page.goto(BASE + '/app/cases/new');
  await ready(page);
  await page.fill('#name', '草稿病例');
  await page.fill('#id_number', idNumber('42010319800101001'));
  let s = await stored();
  assert(s.session['fk.session'] && !s.local['fk.session'], 'the token is in sessionStorage, not localStorage: ' + JSON.stringify(Object.keys(s.local)));
  assert((s.session['fk.draft.case.new'] || '').includes('草稿病例') && !s.local['fk.draft.case.new'], 'the case draft is in sessionStorage');
  const token = JSON.parse(s.session['fk.session']).token;

  // logout ends the token on the server and forgets everything personal
  await page.click('[data-testid="logout"]');
  await page.waitForURL(/\/login$/);
  s = await stored();
  const everything = JSON.stringify(s);
  assert(!everything.includes(token) && !s.session['fk.session'] && !s.local['fk.session'], 'no token after logout: ' + everything);
  assert(!everything.includes('草稿病例') && !everything.includes('fk.draft.case.new'), 'no case draft after logout: ' + everything);
  const after = await page.evaluate(async (t) => (await fetch('/api/v1/me', { headers: { authorization: `Bearer ${t}` } })).status, token);
  assert(after === 401, 'the old token is dead: ' + after);

  // the password changes from the header's link; another session of the user ends, this one stays
  const other = await newPage(DESKTOP);
  try {
    await signIn(other, 'jianghan', 'zh');
    await signIn(page, 'jianghan', 'zh');
    await page.click('[data-testid="password-link"]');
    await page.waitForURL(/\/app\/password$/);
    await ready(page);
    const change = async (from, to) => {
      await page.fill('#old_password', from);
      await page.fill('#new_password', to);
      await page.fill('#confirm_password', to);
      await page.click('[data-testid="password-submit"]');
    };
    await change('not the password', 'a new password 2020');
    await page.locator('[data-testid="error-old_password"]').filter({ hasText: /./ }).waitFor();
    assert((await page.textContent('[data-testid="error-old_password"]')).includes('当前密码不正确'), 'a wrong current password, next to its field, in Chinese');
    await change(PASSWORD, 'a new password 2020');
    await page.locator('[data-testid="password-status"].ok').waitFor();
    assert((await page.textContent('[data-testid="password-status"]')).includes('密码已修改'), 'changed');
    await shot(page, 'password-zh.png', { fullPage: false });
    assert((await apiGet(page, '/api/v1/me')).status === 200, 'this session stays');
    assert((await apiGet(other, '/api/v1/me')).status === 401, 'the other session has ended');
    await switchLanguage(page);
    await ready(page);
    assert((await page.textContent('h2')).includes('Change password'), 'the page in English');
    await shot(page, 'password-en.png', { fullPage: false });
    // the new password signs in; then back to the demo's
    await page.click('[data-testid="logout"]');
    await page.waitForURL(/\/login$/);
    await page.fill('#username', 'JiangHan');
    await page.fill('#password', 'a new password 2020');
    await page.click('[data-testid="login-submit"]');
    await page.waitForURL(/\/app$/);
    await page.goto(BASE + '/app/password');
    await ready(page);
    await change('a new password 2020', PASSWORD);
    await page.locator('[data-testid="password-status"].ok').waitFor();
  } finally {
    await other.close();
  }
});

await context.close();
rmSync(userDataDir, { recursive: true, force: true });

// ---------------------------------------------------------------------------

console.log('');
if (timings.dashboardLoadMs !== undefined) {
  console.log(`dashboard of 湖北省 (420000): first paint to all charts drawn in ${timings.dashboardLoadMs} ms (target 1000 ms)`);
  console.log('  milestones (ms since navigation): ' + Object.entries(timings.dashboardMarks).sort((a, b) => a[1] - b[1]).map(([k, v]) => `${k} ${v}`).join(', '));
  for (const c of timings.dashboardApi) console.log(`  ${String(c.ms).padStart(5)} ms  ${c.url}`);
  const slowest = Math.max(...timings.dashboardApi.map((c) => c.ms));
  console.log(`  slowest API call ${slowest} ms (target 100 ms)`);
}
if (timings.chain) {
  console.log(`chain of WH-0001 (depth 2): ${timings.chain.nodes} nodes, ${timings.chain.edges} links, ${timings.chain.otherCounties} of other counties`);
}
if (timings.caseRule) console.log(`a refused event, next to its field: ${timings.caseRule}`);
if (timings.followUpWithOutageMs !== undefined) console.log(`follow-up: one tap through a network outage in ${timings.followUpWithOutageMs} ms`);
if (timings.zeroReportTapMs !== undefined) {
  console.log(`zero report: one tap to confirmation in ${timings.zeroReportTapMs} ms; through a network outage in ${timings.zeroReportWithOutageMs} ms`);
}
for (const r of results) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'}  ${r.name}  ${(r.ms / 1000).toFixed(1)} s`);
const failed = results.filter((r) => !r.ok).length;
console.log(`browser tests: ${results.length - failed} passed, ${failed} failed; screenshots in ${SHOTS}`);
process.exit(failed ? 1 : 0);
