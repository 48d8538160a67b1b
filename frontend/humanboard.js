// "Hardest to move" on the leaderboard page: personas ranked by how often a person in the
// challenger's seat moved them, beside how often the scripted tactics did on the same motions
// (GET /api/leaderboard/human).
import { api, isAbort, personaNames } from './api.js';
import { errorBox, h, pct, tableWrap } from './dom.js';

function rate(r) {
  if (!r.n) return '— (n=0)';
  return `${pct(r.rate)} (${pct(r.ci[0])}–${pct(r.ci[1])}, n=${r.n})`;
}

function table(rows, names) {
  return tableWrap('Hardest to move', h('table', { class: 'board-table', 'data-testid': 'human-board' },
    h('thead', {}, h('tr', {}, ['Persona', 'Moved by people (95% CI, n)', 'Moved by scripted tactics, same motions', 'Motions']
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-persona': r.persona },
      h('th', { scope: 'row' }, h('a', { href: `/personas/${encodeURIComponent(r.persona)}` }, names.get(r.persona) ?? r.persona)),
      h('td', { 'data-testid': 'human-rate' }, rate(r.human)),
      h('td', { 'data-testid': 'scripted-rate' }, rate(r.scripted)),
      h('td', {}, String(r.motions)))))));
}

export function humanSection(signal) {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading human challenges…'));
  const section = h('section', { class: 'card human-board', 'aria-labelledby': 'human-h' },
    h('h2', { id: 'human-h' }, 'Hardest to move'),
    h('p', { class: 'muted' }, 'Pressure matches where a person took the challenger’s seat: how often they moved each '
      + 'persona off its side (flip rate, 95% Wilson interval, n matches), beside the scripted tactics’ rate on the same '
      + 'motions. Lowest upper bound first.'),
    body);
  const load = async () => {
    try {
      const [rows, names] = await Promise.all([api.humanLeaderboard(signal), personaNames()]);
      body.replaceChildren(rows?.length ? table(rows, names)
        : h('p', { class: 'empty' }, 'Nobody has taken the challenger’s seat yet.'));
    } catch (err) {
      if (isAbort(err)) return;
      body.replaceChildren(errorBox(`Could not load the human challenges: ${err.message}`, load));
    }
  };
  load();
  return section;
}
