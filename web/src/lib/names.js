// The names of regions by code, for lists that carry only codes (cases,
// contacts): fetched once per code from the public region API and kept for
// the page's life.

import { get } from './api.js';

const names = new Map();
const pending = new Map();

/** Fetch the names of `codes` not yet known (at most `limit` of them at once). */
export async function loadNames(codes, limit = 40) {
  const wanted = [...new Set(codes.filter((c) => c && !names.has(c)))].slice(0, limit);
  await Promise.all(wanted.map((code) => {
    if (!pending.has(code)) {
      pending.set(code, get(`/api/v1/regions/${encodeURIComponent(code)}`)
        .then((r) => names.set(code, r.name), () => names.set(code, null))
        .finally(() => pending.delete(code)));
    }
    return pending.get(code);
  }));
}

/** Remember names already at hand (a region's children, say). */
export function rememberNames(regions) {
  for (const r of regions) if (r && r.code) names.set(r.code, r.name);
}

/** The region's name, or null when unknown. */
export function nameOf(code) {
  return names.get(code) || null;
}

/** "江汉区 420103", or the code alone. */
export function regionLabel(code) {
  const n = nameOf(code);
  return n ? `${n} ${code}` : code;
}
