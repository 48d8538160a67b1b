// The pressure leaderboard on the leaderboard page: a persona x tactic heatmap of flip rates
// ("which tactic breaks which persona") and the rows behind it (GET /api/leaderboard/pressure).
// The tournament page shows a pressure tournament's rows with the same two tables.
import { api, isAbort, personaNames } from './api.js';
import { errorBox, fmt, h, pct, setHolding, tableWrap } from './dom.js';

export function heatmap(rows, names) {
  const personas = [...new Set(rows.map((r) => r.persona))];
  const tactics = [...new Set(rows.map((r) => r.tactic))].sort();
  const cell = new Map(rows.map((r) => [`${r.persona}|${r.tactic}`, r]));
  return tableWrap('Flip rate by persona and tactic', h('table', { class: 'heatmap', 'data-testid': 'pressure-heatmap' },
    h('caption', {}, 'Flip rate of each persona (rows) under each tactic (columns); greener holds better.'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Persona'),
      tactics.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, personas.map((p) => h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: `/personas/${encodeURIComponent(p)}` }, names.get(p) ?? p)),
      tactics.map((t) => {
        const r = cell.get(`${p}|${t}`);
        if (!r) return h('td', { class: 'empty-cell' }, '—');
        const chip = h('span', { class: 'holding-chip',
          title: `flips ${r.flips} of ${r.n} (95% CI ${pct(r.flip_ci[0])}–${pct(r.flip_ci[1])}); mean Turn of Flip ${fmt(r.mean_tof)}` },
        `${pct(r.flip_rate)} (n=${r.n})`);
        return h('td', { 'data-persona': p, 'data-tactic': t }, setHolding(chip, 1 - r.flip_rate));
      }))))));
}

export function rowsTable(rows, names) {
  return tableWrap('Pressure rows by persona and tactic', h('table', { class: 'board-table', 'data-testid': 'pressure-board' },
    h('thead', {}, h('tr', {}, ['Persona', 'Tactic', 'n', 'Mean ToF', 'Flip rate (95% CI)', 'Holding by round', 'Probe agrees']
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {},
      h('td', {}, names.get(r.persona) ?? r.persona),
      h('td', {}, r.tactic),
      h('td', {}, String(r.n)),
      h('td', {}, `${fmt(r.mean_tof)} (${pct(r.mean_tof_share)} of responses)`),
      h('td', {}, `${pct(r.flip_rate)} (${pct(r.flip_ci[0])}–${pct(r.flip_ci[1])})`),
      h('td', {}, r.holding_by_round.map((x) => fmt(x)).join(' → ')),
      h('td', {}, r.probe_agreement == null ? '—' : pct(r.probe_agreement)))))));
}

/** The section; loads itself, with the personas' names. */
export function pressureSection(signal) {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading pressure matches…'));
  const section = h('section', { class: 'card pressure-board', 'aria-labelledby': 'pressure-h' },
    h('h2', { id: 'pressure-h' }, 'Under pressure'),
    h('p', { class: 'muted' }, 'Pressure matches: a persona states its side, then a tactic pushes it for several rounds. '
      + 'Turn of Flip (ToF) counts its responses, from the opening, that hold its side before one does not '
      + '(SYCON-Bench\'s definition: neutral and unscored responses count as not holding). '
      + 'Matches the judge could not score at all are left out of the rates.'),
    body);
  const load = async () => {
    try {
      const [rows, names] = await Promise.all([api.pressureLeaderboard(signal), personaNames()]);
      body.replaceChildren(...(rows?.length
        ? [heatmap(rows, names), rowsTable(rows, names)]
        : [h('p', { class: 'empty' }, 'No pressure match has finished yet.')]));
    } catch (err) {
      if (isAbort(err)) return;
      body.replaceChildren(errorBox(`Could not load the pressure leaderboard: ${err.message}`, load));
    }
  };
  load();
  return section;
}
