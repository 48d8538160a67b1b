// "Firm and open" (GET /api/leaderboard/calibration): one point per persona, across its
// resistance to pressure (1 - the regressive flip rate) and up its openness to evidence (the
// progressive flip rate), with each rate's Wilson 95% interval drawn as a cross. The top-right
// corner is the persona you want: it holds a true position under pressure and takes up the
// truth when shown evidence. Each point is a link (Tab reaches it; its label says the figures);
// the table below says the same in rows. Used on the leaderboard and on each persona's page.
import { api, isAbort, personaNames } from './api.js';
import { errorBox, fmt, h, pct, s, tableWrap } from './dom.js';

const SIZE = 300;
const PAD = { left: 52, top: 24, right: 24, bottom: 46 };

const px = (v) => PAD.left + SIZE * Math.min(1, Math.max(0, v));
const py = (v) => PAD.top + SIZE * (1 - Math.min(1, Math.max(0, v)));

/** [low, high] of 1 - the regressive rate. */
export function resistanceCi(row) {
  return [1 - row.regressive.ci[1], 1 - row.regressive.ci[0]];
}

function label(row, name) {
  const [rl, rh] = resistanceCi(row);
  const [ol, oh] = row.progressive.ci;
  return `${name}: resistance to pressure ${pct(row.resistance)} (95% CI ${pct(rl)}–${pct(rh)}, `
    + `n=${row.regressive.n}); openness to evidence ${pct(row.openness)} (95% CI ${pct(ol)}–${pct(oh)}, `
    + `n=${row.progressive.n})`;
}

/** The scatter; `focus`: a persona to draw in front, the others faded. */
export function scatter(rows, names, focus = null) {
  const plotted = rows.filter((r) => r.resistance != null && r.openness != null);
  const width = PAD.left + SIZE + PAD.right;
  const height = PAD.top + SIZE + PAD.bottom;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((t) => [
    s('line', { x1: px(t), y1: py(0), x2: px(t), y2: py(1), class: 'grid' }),
    s('line', { x1: px(0), y1: py(t), x2: px(1), y2: py(t), class: 'grid' }),
    s('text', { x: px(t), y: py(0) + 16, 'text-anchor': 'middle' }, pct(t)),
    s('text', { x: px(0) - 6, y: py(t) + 4, 'text-anchor': 'end' }, pct(t)),
  ]);
  const ordered = focus ? [...plotted.filter((r) => r.persona !== focus), ...plotted.filter((r) => r.persona === focus)] : plotted;
  const points = ordered.map((r) => {
    const name = names.get(r.persona) ?? r.persona;
    const [rl, rh] = resistanceCi(r);
    const [ol, oh] = r.progressive.ci;
    const x = px(r.resistance);
    const y = py(r.openness);
    const faded = focus && r.persona !== focus;
    return s('a', { href: `/personas/${encodeURIComponent(r.persona)}`, class: `point${faded ? ' faded' : ''}`,
      'aria-label': label(r, name), 'data-persona': r.persona, 'data-testid': 'calibration-point' },
    s('title', {}, label(r, name)),
    s('line', { x1: px(rl), y1: y, x2: px(rh), y2: y, class: 'ci', 'data-axis': 'x' }),
    s('line', { x1: x, y1: py(ol), x2: x, y2: py(oh), class: 'ci', 'data-axis': 'y' }),
    s('circle', { cx: x, cy: y, r: 5 }),
    // the label on the side with room: left of a point in the right half
    s('text', { x: r.resistance > 0.6 ? x - 8 : x + 8, y: r.openness > 0.9 ? y + 16 : y - 8,
      'text-anchor': r.resistance > 0.6 ? 'end' : 'start', class: 'point-label' }, name));
  });
  return s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'scatter',
    role: 'group', 'aria-label': 'Firm and open: resistance to pressure across, openness to evidence up',
    'data-testid': 'calibration-scatter' },
  s('rect', { x: px(0.5), y: py(1), width: SIZE / 2, height: SIZE / 2, class: 'goal' }),
  s('text', { x: px(0.5) + 6, y: py(0.5) - 8, class: 'goal-label' }, 'firm and open'),
  grid,
  s('text', { x: px(0.5), y: height - 8, 'text-anchor': 'middle', class: 'axis' }, 'resistance to pressure →'),
  s('text', { transform: `translate(14 ${py(0.5)}) rotate(-90)`, 'text-anchor': 'middle', class: 'axis' }, 'openness to evidence →'),
  points);
}

function rate(r) {
  return r.n ? `${pct(r.rate)} (${pct(r.ci[0])}–${pct(r.ci[1])}, ${r.k}/${r.n})` : '—';
}

export function calibrationTable(rows, names) {
  return tableWrap('Firm and open table', h('table', { class: 'board-table', 'data-testid': 'calibration-board' },
    h('thead', {}, h('tr', {}, ['Persona', 'Matches', 'Resistance', 'Regressive flips', 'Openness (progressive flips)',
      'Persistence', 'First flip round', 'Probe agrees'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-persona': r.persona },
      h('th', { scope: 'row' }, h('a', { href: `/personas/${encodeURIComponent(r.persona)}` }, names.get(r.persona) ?? r.persona)),
      h('td', {}, String(r.matches)),
      h('td', {}, r.resistance == null ? '—' : pct(r.resistance)),
      h('td', {}, rate(r.regressive)),
      h('td', {}, rate(r.progressive)),
      h('td', {}, rate(r.persistence)),
      h('td', {}, fmt(r.mean_first_flip_round)),
      h('td', {}, r.probe_agreement == null ? '—' : pct(r.probe_agreement)))))));
}

const ABOUT = 'Calibration matches put a persona on a factual claim whose truth is known, starting on the true '
  + 'side or the false one. Under pressure (no new information) a flip away from the truth is regressive: '
  + 'resistance is 1 minus that rate. Shown correct evidence from the false side, a flip toward the truth is '
  + 'progressive: that rate is openness. Crosses are Wilson 95% intervals.';

/** The section; loads itself. `focus`: on a persona's page, that persona. */
export function calibrationSection(signal, names = new Map(), focus = null) {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading calibration matches…'));
  const section = h('section', { class: 'card calibration-board', 'aria-labelledby': 'calibration-h' },
    h('h2', { id: 'calibration-h' }, 'Firm and open'),
    h('p', { class: 'muted' }, ABOUT),
    body);
  const load = async () => {
    try {
      const view = await api.calibrationLeaderboard(signal);
      if (!names.size) names = await personaNames();
      const rows = view?.rows ?? [];
      const mine = focus ? rows.filter((r) => r.persona === focus) : rows;
      const judge = view?.judge ? h('p', { class: 'muted' }, `Judge set: ${view.judge}.`) : '';
      body.replaceChildren(...(mine.length
        ? [scatter(rows, names, focus), judge, calibrationTable(mine, names)]
        : [h('p', { class: 'empty' }, focus ? 'No calibration match of this persona has finished yet.'
          : 'No calibration match has finished yet.')]));
    } catch (err) {
      if (isAbort(err)) return;
      body.replaceChildren(errorBox(`Could not load the calibration board: ${err.message}`, load));
    }
  };
  load();
  return section;
}
