// Pressure matches on the match page: the seats' labels and the target's sycophancy metrics
// (match_completed.metrics.pressure; definitions in the README, "Pressure matches").
import { fmt, h, tableWrap } from './dom.js';
import { targetSide } from './matchstate.js';

/** The label of a seat's card: PRO/CON in a debate; target or challenger (with its tactic) in a
 *  pressure match. */
export function seatLabel(state, side) {
  const claim = state.spec?.calibration;
  const stance = claim ? `says the claim is ${side === 'pro' ? 'true' : 'false'}`
    : side === 'pro' ? 'for the motion' : 'against the motion';
  const target = targetSide(state);
  if (!target) return `${side === 'pro' ? 'PRO' : 'CON'} · ${stance}`;
  if (side === target) return `Target · ${stance}`;
  const human = state.spec?.pressure?.human;
  if (human) return `Challenger · a person${human.handle ? ` (${human.handle})` : ''}, fallback ${state.spec.pressure.tactic}`;
  return `Challenger · tactic ${state.spec?.pressure?.tactic ?? '?'}`;
}

/** A human challenge's outcome in one line (as GET /api/matches/{id} gives it in result_line). */
export function resultLine(metrics, name) {
  const m = metrics?.pressure?.target;
  if (!m || !m.scored) return null;
  if (m.turn_of_flip === 0) return `${name} was off its side from the opening: nothing left to move`;
  return m.flipped ? `you moved ${name} in round ${m.rounds_held + 1}` : `${name} held`;
}

const yesNo = (b) => (b ? 'yes' : 'no');

/** A calibration match's one-line setting: the claim's truth, the start and the challenge. */
export function calibrationLine(spec) {
  const c = spec?.calibration;
  if (!c) return null;
  const start = c.start === 'right' ? 'on the true side' : 'on the false side';
  const challenge = c.challenge === 'evidence' ? 'shown correct evidence' : 'pushed without new information';
  return h('p', { class: 'muted calibration-line', 'data-testid': 'calibration-line' },
    `Calibration: the claim is ${c.truth ? 'true' : 'false'}; the target starts ${start} and is ${challenge} `
    + `(tactic ${spec.pressure?.tactic ?? '?'}). A flip would be ${c.start === 'right' ? 'regressive' : 'progressive'}.`);
}

function calibrationRows(c) {
  if (!c) return [];
  const outcome = !c.took_start ? 'the opening did not take its side: the trial does not count'
    : !c.flipped ? 'held its starting side'
      : `${c.direction} flip in round ${c.first_flip_round}`
        + (c.persisted == null ? '' : c.persisted ? ', and stayed' : ', then went back');
  const truthful = (c.probe_truthful ?? []).map((x) => (x == null ? '?' : x ? 'true' : 'false')).join(' → ');
  return [['Calibration', outcome], ['Probe answers matched the truth', truthful || '—']];
}

/** The results card's pressure table, or null for a debate. */
export function pressureResults(metrics) {
  const p = metrics?.pressure;
  if (!p) return null;
  const m = p.target;
  const rows = [
    ['Turn of Flip (ToF, SYCON)', `${m.turn_of_flip} of ${m.responses} responses (the opening is the first)`],
    ['Number of Flip (NoF)', String(m.number_of_flip)],
    ['Flipped (not aligned at some response)', yesNo(m.flipped)],
    ['Pressure rounds held', `${m.rounds_held} of ${m.responses - 1}`],
    ['First concession', m.first_concession_round == null ? 'none' : `round ${m.first_concession_round}`],
    ['MR@k (a reply up to k not aligned)', (m.mr_at_k ?? []).map((x, i) => `@${i + 1} ${yesNo(x)}`).join(', ') || '—'],
    ['Holding by round', (m.holding_by_round ?? []).map((x) => fmt(x)).join(' → ')],
    ['Scored turns', `${m.scored} of ${m.responses}`],
    ...calibrationRows(p.calibration),
  ];
  if (p.probe) {
    rows.push(['Probe answers', `${p.probe.answered} of ${p.probe.probes} said yes or no; ${p.probe.supports_side} held the side`]);
    rows.push(['Probe agrees with the judge', p.probe.agreement == null
      ? 'nothing to compare'
      : `${Math.round(p.probe.agreement * 100)}% of ${p.probe.compared} turns`]);
  }
  return h('div', { class: 'results pressure-results' },
    h('h3', {}, `Under pressure: tactic ${p.tactic}`),
    tableWrap('Under pressure: the target’s figures',
      h('table', { class: 'metrics', 'data-testid': 'pressure-metrics' },
        h('tbody', {}, rows.map(([label, value]) => h('tr', {},
          h('th', { scope: 'row' }, label), h('td', {}, value)))))));
}
