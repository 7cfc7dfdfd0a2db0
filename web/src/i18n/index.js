// The language of the page: from ?lang=, else the user's earlier choice, else
// the browser's languages (Chinese for any zh-*, English otherwise). Every
// label comes from one dictionary per language (zh.js, en.js).

import zh from './zh.js';
import en from './en.js';

export const DICTIONARIES = { zh, en };
const STORE_KEY = 'fk.lang';
const listeners = new Set();

function detect() {
  const fromUrl = new URLSearchParams(location.search).get('lang');
  if (fromUrl === 'zh' || fromUrl === 'en') return fromUrl;
  try {
    const saved = localStorage.getItem(STORE_KEY);
    if (saved === 'zh' || saved === 'en') return saved;
  } catch {
    // storage may be off; fall through to the browser's languages
  }
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  for (const l of langs) {
    const tag = String(l).toLowerCase();
    if (tag.startsWith('zh')) return 'zh';
    if (tag.startsWith('en')) return 'en';
  }
  return 'en';
}

let current = detect();
document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';

export function lang() {
  return current;
}

/** Switch the language, remember it, and tell every listener to re-render. */
export function setLang(l) {
  if (l !== 'zh' && l !== 'en') return;
  current = l;
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  try {
    localStorage.setItem(STORE_KEY, l);
  } catch {
    // not remembered; still switched
  }
  const url = new URL(location.href);
  if (url.searchParams.has('lang')) {
    url.searchParams.set('lang', l);
    history.replaceState(history.state, '', url);
  }
  for (const f of listeners) f(l);
}

export function onLangChange(f) {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** The label for `key` in the current language, with `{name}` placeholders filled. */
export function t(key, params) {
  const dict = DICTIONARIES[current];
  let text = Object.prototype.hasOwnProperty.call(dict, key) ? dict[key] : key;
  if (params) {
    text = text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  }
  return text;
}

/** A label if the dictionary has it, else `fallback`. */
export function tOr(key, fallback) {
  return Object.prototype.hasOwnProperty.call(DICTIONARIES[current], key) ? t(key) : fallback;
}

export function fmtNumber(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  return new Intl.NumberFormat(current === 'zh' ? 'zh-CN' : 'en-GB').format(n);
}

export function fmtSigned(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (n > 0) return '+' + fmtNumber(n);
  if (n < 0) return '−' + fmtNumber(-n);
  return '±0';
}

export function fmtPercent(x) {
  if (x === null || x === undefined) return '–';
  return new Intl.NumberFormat(current === 'zh' ? 'zh-CN' : 'en-GB', { style: 'percent', maximumFractionDigits: 1 }).format(x);
}

// times are shown in the installation's local time (UTC+8 for China), not the browser's
let zoneOffsetMinutes = 480;
export function setZoneOffset(minutes) {
  if (Number.isFinite(minutes)) zoneOffsetMinutes = minutes;
}

function shifted(iso) {
  return new Date(new Date(iso).getTime() + zoneOffsetMinutes * 60000);
}

export function fmtTime(iso) {
  return new Intl.DateTimeFormat(current === 'zh' ? 'zh-CN' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }).format(shifted(iso));
}

export function fmtDateTime(iso) {
  return new Intl.DateTimeFormat(current === 'zh' ? 'zh-CN' : 'en-GB', {
    month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC',
  }).format(shifted(iso));
}
