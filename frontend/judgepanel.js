// A tournament's judges (GET /api/tournaments/{id}: judge_panel): how far they agree with each
// other (Krippendorff's alpha on holding, Cohen's / Fleiss' kappa on stance) and how often each
// changes its verdict when the speakers' positions are swapped. Definitions: docs/judging.md.
import { fmt, h, pct } from './dom.js';

function rateText(s) {
  if (s.rate == null || !s.ci) return 'not swap-tested';
  return `${pct(s.rate)} (${pct(s.ci[0])}–${pct(s.ci[1])})`;
}

function agreementPart(panel) {
  if (panel.judges.length < 2) {
    return h('p', { class: 'muted', 'data-testid': 'panel-agreement' },
      'One judge: no panel agreement to measure. Run the tournament with two judges or more to see it.');
  }
  return [
    h('p', { 'data-testid': 'panel-agreement' },
      `Over ${panel.turns} turns scored by two judges or more: Krippendorff's alpha on holding `,
      h('strong', {}, fmt(panel.holding_alpha, 3)), ', Fleiss\' kappa on stance ',
      h('strong', {}, fmt(panel.stance_kappa, 3)), '.'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'leaderboard', 'data-testid': 'judge-pairs' },
      h('thead', {}, h('tr', {}, ['Judges', 'Turns', 'Same stance', 'Cohen\'s kappa (stance)', 'Alpha (holding)', 'Mean |Δ holding|']
        .map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, panel.pairs.map((p) => h('tr', {},
        h('th', { scope: 'row' }, `${p.a} vs ${p.b}`),
        h('td', { class: 'num' }, String(p.turns)),
        h('td', { class: 'num' }, pct(p.stance_agreement)),
        h('td', { class: 'num' }, fmt(p.stance_kappa, 3)),
        h('td', { class: 'num' }, fmt(p.holding_alpha, 3)),
        h('td', { class: 'num' }, fmt(p.mean_abs_holding_diff, 3))))))),
  ];
}

function swapPart(panel) {
  if (!panel.swap.some((s) => s.pairs || s.unscored)) {
    return h('p', { class: 'muted', 'data-testid': 'judge-swap' }, 'Position swap not measured: start the tournament with '
      + '"judge_swap": true (the API), --judge-swap (the CLI) or ARENA_JUDGE_SWAP=1 to judge every turn from both positions.');
  }
  return [
    h('p', { class: 'muted' }, `Position swap: a judged turn is scored again with the speaker presented as the other debater; `
      + `a judge is inconsistent on it when its stance changes or its holding moves by more than ${panel.swap_tolerance}. `
      + 'The rate shows its Wilson 95% interval.'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'leaderboard', 'data-testid': 'judge-swap' },
      h('thead', {}, h('tr', {}, ['Judge', 'Swapped turns', 'Inconsistent', 'Rate (95% CI)', 'Unscored']
        .map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, panel.swap.map((s) => h('tr', { 'data-judge': s.judge },
        h('th', { scope: 'row' }, s.judge),
        h('td', { class: 'num' }, String(s.pairs)),
        h('td', { class: 'num' }, String(s.inconsistent)),
        h('td', { class: 'num' }, rateText(s)),
        h('td', { class: 'num' }, String(s.unscored))))))),
  ];
}

/** The judges section of the tournament page. */
export function judgesSection(t) {
  const panel = t.judge_panel;
  if (!panel) return null;
  return h('section', { 'aria-labelledby': 'judges-h', 'data-testid': 'tournament-judges' },
    h('h2', { id: 'judges-h' }, 'Judges: agreement and position bias'),
    h('p', { class: 'muted' }, 'Agreement is chance-corrected: 1 is perfect, 0 no better than chance; '
      + 'below 0.667 the scores are too unreliable to rank on. See the documentation, “Judge bias controls”.'),
    agreementPart(panel), swapPart(panel));
}

/** The style covariates of the adjusted fit, as a sentence under the leaderboard. */
export function styleNote(board) {
  const style = board.style;
  if (!style) return null;
  const parts = style.coefficients.map((c) => (c.estimate == null
    ? `${c.name}: not estimable (it does not vary)`
    : `${c.name} ${c.estimate >= 0 ? '+' : ''}${fmt(c.estimate, 3)} ${c.unit}${c.ci ? ` (${fmt(c.ci[0], 3)} to ${fmt(c.ci[1], 3)})` : ''}`));
  return h('p', { class: 'muted', 'data-testid': 'style-note' },
    `Style-controlled: the adjusted holding at the average length and hedging of ${style.turns} turns. Effects on holding: ${parts.join('; ')}.`);
}
