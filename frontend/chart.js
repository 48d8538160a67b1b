// Small hand-drawn SVG charts: a 0..1 line chart and a confidence-interval bar.
import { fmt, s } from './dom.js';

const H = 220;
const M = { top: 14, right: 20, bottom: 30, left: 36 };

/**
 * Draw series of points with y in 0..1 into svg (replacing its content), at width px so text
 * keeps its size on small screens. opts: {width, xCount, xLabels: [long], xShort: [short],
 * series: [{cls, label, points: [{x, y, title, turn, hidden}]}], label}; a hidden point (a score
 * the spectator has not voted on yet) is drawn without its y, as a dashed mark over the range
 */
export function lineChart(svg, { width = 640, xCount, xLabels = [], xShort = xLabels, series, label }) {
  const W = Math.max(260, Math.round(width));
  const n = Math.max(1, xCount);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (i) => M.left + (n === 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  const y = (v) => M.top + (1 - v) * plotH;

  const grid = [0, 0.25, 0.5, 0.75, 1].map((v) => s('g', { class: 'tick' },
    s('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: v === 0.5 ? 'mid' : null }),
    v * 4 % 2 === 0 ? s('text', { x: M.left - 8, y: y(v) + 4, 'text-anchor': 'end' }, String(v)) : null));
  const spacing = n > 1 ? plotW / (n - 1) : plotW;
  const labels = spacing >= 84 ? xLabels : xShort;
  const every = spacing >= 30 ? 1 : 2;
  const xTicks = Array.from({ length: n }, (_, i) => (i % every === 0 || i === n - 1) && !(every > 1 && i === n - 2)
    // the last label ends at its point, so a long one ("Round 10") is not cut off at the edge
    ? s('text', { x: x(i), y: H - 8, 'text-anchor': n > 1 && i === n - 1 ? 'end' : 'middle', class: 'xlabel' },
      labels[i] ?? String(i + 1))
    : null);

  const lines = series.map(({ cls, label: name, points }, k) => {
    const sorted = [...points].sort((a, b) => a.x - b.x);
    // a hidden point breaks the line: joining its neighbours would hint at its value
    const runs = [[]];
    for (const p of sorted) {
      if (p.hidden) runs.push([]);
      else runs[runs.length - 1].push(p);
    }
    // a hidden point has no y: a dashed stroke over the whole 0..1 range, offset per series
    const dx = (k - (series.length - 1) / 2) * 6;
    return s('g', { class: `series ${cls}` },
      runs.filter((r) => r.length > 1).map((r) =>
        s('polyline', { class: `line ${cls}`, points: r.map((p) => `${x(p.x)},${y(p.y)}`).join(' ') })),
      sorted.map((p) => (p.hidden
        ? s('g', { class: `point-hidden ${cls}`, 'data-testid': 'chart-hidden', 'data-turn': p.turn ?? null },
          s('title', {}, p.title ?? `${name}: hidden until you vote`),
          s('line', { x1: x(p.x) + dx, x2: x(p.x) + dx, y1: y(1), y2: y(0) }),
          s('text', { x: x(p.x) + dx, y: y(1) - 3, 'text-anchor': 'middle' }, '?'))
        : s('circle', { class: `point ${cls}`, 'data-turn': p.turn ?? null, cx: x(p.x), cy: y(p.y), r: 5 },
          s('title', {}, p.title ?? `${name}: ${fmt(p.y)}`)))));
  });

  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  if (label) svg.setAttribute('aria-label', label);
  svg.replaceChildren(
    s('g', { class: 'grid', 'aria-hidden': 'true' }, grid),
    s('g', { class: 'axis', 'aria-hidden': 'true' }, xTicks),
    ...lines,
  );
  return svg;
}

/** A 0..1 track with the interval [lo, hi] drawn as a band and the mean as a mark. */
export function ciBar(mean, ci, what) {
  const [lo, hi] = Array.isArray(ci) ? ci : [null, null];
  const has = (v) => typeof v === 'number' && Number.isFinite(v);
  const clamp = (v) => Math.min(100, Math.max(0, v * 100));
  const label = has(mean)
    ? `${what} ${fmt(mean)}${has(lo) && has(hi) ? `, 95% interval ${fmt(lo)} to ${fmt(hi)}` : ''}`
    : `${what}: no data`;
  return s('svg', { class: 'ci', viewBox: '0 0 100 16', preserveAspectRatio: 'none', role: 'img', 'aria-label': label },
    s('title', {}, label),
    s('rect', { class: 'ci-track', x: 0, y: 7, width: 100, height: 2 }),
    has(lo) && has(hi)
      ? s('rect', { class: 'ci-range', x: clamp(lo), y: 3, width: Math.max(1, clamp(hi) - clamp(lo)), height: 10, rx: 2 })
      : null,
    has(mean) ? s('rect', { class: 'ci-mean', x: clamp(mean) - 1, y: 0, width: 2, height: 16 }) : null);
}
