// The verdict chip under each turn: a <details> whose summary shows holding, stance and
// engagement, and whose body holds concessions, rationale and each judge's own verdict.
import { fmt, h, setHolding, tableWrap } from './dom.js';

function holdingChip(holding, scored, prefix = 'holding ') {
  const chip = h('span', { class: 'holding-chip' },
    scored && typeof holding === 'number' ? `${prefix}${fmt(holding)}` : 'not scored');
  return setHolding(chip, scored ? holding : null);
}

function judgeTable(judges, accuracy) {
  return tableWrap('Each judge', h('table', { class: 'judges' },
    h('caption', {}, 'Each judge'),
    h('thead', {}, h('tr', {},
      ['Judge', 'Holding', 'Stance', 'Engagement', 'Rationale'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, judges.map((j) => h('tr', {},
      h('th', { scope: 'row' }, j.judge,
        accuracy?.[j.judge] != null ? h('span', { class: 'muted' }, ` (acc. ${fmt(accuracy[j.judge])})`) : null),
      h('td', {}, j.scored ? holdingChip(j.holding, true, '') : 'not scored'),
      h('td', {}, j.stance ?? '—'),
      h('td', {}, fmt(j.engagement)),
      h('td', {}, j.scored ? (j.rationale || '—') : (j.reason || j.rationale || 'no valid output')))))));
}

/** Each judge's verdict from the swapped position (a match with judge_swap). */
function swapList(judges) {
  const swapped = judges.filter((j) => j.swap);
  if (!swapped.length) return null;
  const verdictText = (x) => (x.scored ? `${x.stance}, holding ${fmt(x.holding)}` : 'not scored');
  return [h('h4', {}, 'Positions swapped'),
    h('ul', { class: 'swaps', 'data-testid': 'verdict-swap' }, swapped.map((j) => h('li', {},
      `${j.judge} as Debater ${j.swap.position}: ${verdictText(j.swap)} `,
      h('span', { class: 'muted' }, j.swap.consistent == null ? '(not compared)' : j.swap.consistent ? '(consistent)' : '(inconsistent)'))))];
}

/** Build the chip for one Verdict event. */
export function verdictChip(v, { open = false, accuracy = {} } = {}) {
  const judges = Array.isArray(v.judges) ? v.judges : [];
  const unscoredReason = !v.scored
    ? judges.map((j) => j.reason).find(Boolean) ?? 'The judge gave no valid verdict.'
    : null;
  const concessions = Array.isArray(v.concessions) ? v.concessions : [];
  return h('details', {
    class: `verdict${v.disputed ? ' is-disputed' : ''}`,
    'data-testid': 'verdict',
    'data-turn': v.turn,
    'data-holding': typeof v.holding === 'number' ? v.holding : null,
    'data-disputed': v.disputed ? 'true' : null,
    open: open || null,
  },
  h('summary', {},
    holdingChip(v.holding, v.scored),
    v.stance ? h('span', { class: 'pill' }, `stance ${v.stance}`) : null,
    typeof v.engagement === 'number' ? h('span', { class: 'pill' }, `engagement ${fmt(v.engagement)}`) : null,
    v.disputed
      ? h('span', { class: 'pill disputed', title: 'The judges disagreed on this turn' }, '⚑ disputed')
      : null),
  h('div', { class: 'verdict-body' },
    unscoredReason ? h('p', { class: 'muted' }, unscoredReason) : null,
    h('h3', {}, 'Concessions'), // under the page's h2 "Transcript": no level skipped
    concessions.length
      ? h('ul', { class: 'concessions' }, concessions.map((c) => h('li', {}, c)))
      : h('p', { class: 'muted' }, 'None.'),
    h('h3', {}, 'Rationale'),
    h('p', {}, v.rationale || '—'),
    judges.length > 1 ? judgeTable(judges, accuracy) : null,
    swapList(judges)));
}
