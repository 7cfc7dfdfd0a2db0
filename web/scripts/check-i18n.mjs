// Every label in both languages: the two dictionaries must have the same keys,
// no empty label, and the same {placeholders} in each label.
//
//   node scripts/check-i18n.mjs        (exit 1 when they differ)

import zh from '../src/i18n/zh.js';
import en from '../src/i18n/en.js';

const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');

export function checkDictionaries() {
  const problems = [];
  for (const [a, b, an, bn] of [[zh, en, 'zh', 'en'], [en, zh, 'en', 'zh']]) {
    for (const k of Object.keys(a)) {
      if (!(k in b)) problems.push(`${k}: in ${an}.js, missing from ${bn}.js`);
    }
  }
  for (const k of Object.keys(zh)) {
    if (!(k in en)) continue;
    if (!zh[k] || !en[k]) problems.push(`${k}: empty label`);
    else if (placeholders(zh[k]) !== placeholders(en[k])) {
      problems.push(`${k}: placeholders differ: zh {${placeholders(zh[k])}} en {${placeholders(en[k])}}`);
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkDictionaries();
  if (problems.length) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
  console.log(`the dictionaries agree: ${Object.keys(zh).length} labels in each`);
}
