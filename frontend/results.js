// The end-of-match metrics table (match_completed.metrics).
import { fmt, h, tableWrap } from './dom.js';

const ROWS = [
  ['Mean holding', (m) => fmt(m.mean_holding)],
  ['Lowest holding', (m) => fmt(m.min_holding)],
  ['Switched sides at', (m) => (m.switch_turn == null ? 'never' : `turn ${m.switch_turn + 1}`)],
  ['Turns of firmness', (m) => String(m.turns_of_firmness ?? '—')],
  ['Stance changes', (m) => String(m.stance_changes ?? '—')],
  ['Mean engagement', (m) => fmt(m.mean_engagement)],
  ['Scored turns', (m) => `${m.scored_turns ?? '—'} of ${m.turns ?? '—'}`],
];

function agreement(a) {
  if (!a) return null;
  const disputed = a.disputed_turns?.length
    ? a.disputed_turns.map((t) => t + 1).join(', ')
    : 'none';
  return h('p', { class: 'agreement' },
    h('strong', {}, `Agreement of ${a.judges} judges: `),
    `holding α ${fmt(a.holding_alpha)}, stance κ ${fmt(a.stance_kappa)}, disputed turns: ${disputed}.`);
}

/** Each judge's position swaps in this match (match_completed.metrics.swap, with judge_swap). */
function swaps(list) {
  if (!list?.length) return null;
  const part = (t) => `${t.judge} inconsistent on ${t.inconsistent} of ${t.pairs} turns${t.unscored ? ` (${t.unscored} unscored)` : ''}`;
  return h('p', { class: 'agreement', 'data-testid': 'match-swap' },
    h('strong', {}, 'Position swap: '), `${list.map(part).join('; ')}.`);
}

export function metricsTable(metrics, names) {
  const name = (m) => names.get(m.persona) ?? m.persona;
  return h('div', { class: 'results' },
    tableWrap('Results by side',
      h('table', { class: 'metrics', 'data-testid': 'metrics' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Metric'),
          h('th', { scope: 'col', class: 'pro' }, `PRO · ${name(metrics.pro)}`),
          h('th', { scope: 'col', class: 'con' }, `CON · ${name(metrics.con)}`))),
        h('tbody', {}, ROWS.map(([label, get]) => h('tr', {},
          h('th', { scope: 'row' }, label),
          h('td', {}, get(metrics.pro)),
          h('td', {}, get(metrics.con))))))),
    h('p', { class: 'muted' }, `Judged by ${(metrics.judges ?? []).join(', ') || 'unknown judge'}.`),
    agreement(metrics.agreement), swaps(metrics.swap));
}
