// The JSON API under /api/v1: the session token, errors with their field,
// retries when the network drops, and the time of every call (for the
// browser test and the curious: window.__fk.calls).
//
// The token lives in sessionStorage: it goes with the tab, and no other
// tab or later visitor of a shared computer finds it. Drafts that hold
// personal data (the case and contact forms) live there too
// (`personalDrafts`) and end at logout; drafts without any (a grid
// worker's report, a directive) may stay in localStorage.

const TOKEN_KEY = 'fk.session';

/** Where drafts with personal data are kept: this tab, until logout. */
export const personalDrafts = sessionStorage;

/** Keys earlier versions kept in localStorage, personal: removed on sight. */
const LEGACY_PERSONAL = [TOKEN_KEY, 'fk.draft.case.new', 'fk.draft.contact.new'];
for (const key of LEGACY_PERSONAL) localStorage.removeItem(key);

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'http';
    this.field = e.field || null;
    this.rule = e.rule || null;
    /** Seconds to wait before asking again (429's `Retry-After`), or null. */
    this.retryAfter = null;
  }
}

/** The network failed: no answer at all (offline, connection reset). */
export class NetworkError extends Error {
  constructor(cause) {
    super('network');
    this.cause = cause;
  }
}

window.__fk = window.__fk || { calls: [] };

export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || 'null');
    if (s && s.token && (!s.expires_at || new Date(s.expires_at) > new Date())) return s;
  } catch {
    // a broken entry is no session
  }
  return null;
}

export function saveSession(s) {
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(s));
}

/** Forget the token (it expired, or the server no longer knows it); drafts stay for the next sign-in. */
export function clearSession() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * Log out: the server ends the token (`DELETE /api/v1/sessions`), and
 * everything personal this tab kept is forgotten, whether or not the
 * server could be reached.
 */
export async function endSession() {
  const s = session();
  if (s) {
    try {
      await fetch('/api/v1/sessions', { method: 'DELETE', headers: { authorization: `Bearer ${s.token}` } });
    } catch {
      // offline: the token ends with its time; this tab forgets it now
    }
  }
  sessionStorage.clear();
  for (const key of LEGACY_PERSONAL) localStorage.removeItem(key);
}

/** Called with the ApiError when the server says the token is no good. */
let onUnauthenticated = () => {};
export function setUnauthenticatedHandler(f) {
  onUnauthenticated = f;
}

async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  const s = session();
  if (s) headers.authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new NetworkError(e);
  }
  const text = await res.text();
  window.__fk.calls.push({ method, path, status: res.status, ms: performance.now() - started });
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, json);
    const wait = Number(res.headers.get('retry-after'));
    if (wait > 0) err.retryAfter = wait;
    if (res.status === 401 && s) onUnauthenticated(err);
    throw err;
  }
  return { status: res.status, body: json };
}

/** GET a JSON body. */
export async function get(path, params) {
  const q = params ? '?' + new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')) : '';
  return (await call('GET', path + q)).body;
}

export async function post(path, body) {
  return call('POST', path, body);
}

export async function put(path, body) {
  return call('PUT', path, body);
}

/**
 * POST and keep trying while the network is down: `onWait(seconds)` is told
 * before each wait. API errors (4xx, 5xx) are thrown at once. Filing the same
 * report twice is harmless (the server answers `unchanged`), so a retry after
 * a lost answer does no damage.
 */
export async function postRetrying(path, body, { onWait, signal } = {}) {
  let delay = 2;
  for (;;) {
    try {
      return await post(path, body);
    } catch (e) {
      if (!(e instanceof NetworkError)) throw e;
      if (signal && signal.aborted) throw e;
      if (onWait) onWait(delay);
      await waitOnline(delay * 1000, signal);
      delay = Math.min(delay * 2, 30);
    }
  }
}

function waitOnline(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener('online', done);
      if (signal) signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    window.addEventListener('online', done);
    if (signal) signal.addEventListener('abort', done);
  });
}
