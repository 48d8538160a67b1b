// One transcript turn element, updated in place from the render state.
import { fmt, h, SIDE_LABEL } from './dom.js';
import { verdictChip } from './verdict.js';

const KIND_LABEL = {
  opening: 'Opening', rebuttal: 'Rebuttal', closing: 'Closing', challenge: 'Challenge', reply: 'Reply',
};
const ROLE_LABEL = { target: 'Target', challenger: 'Challenger' };
const PROBE_METHODS = { p_yes: ' (decided by p(yes))', choice: ' (forced choice)' };

// The kind and round come from the match's plan (matchstate.js), never from the turn number.
function kindLabel(turn) {
  const label = KIND_LABEL[turn.kind];
  if (!label) return `Turn ${turn.turn + 1}`;
  return turn.round ? `${label} ${turn.round}` : label;
}

function speaker(turn, names) {
  // a person in the challenger's seat: their handle, as text; the fallback speaks a tactic's lines
  if (turn.author === 'human') return h('span', { class: 'human', 'data-testid': 'human-author' }, `a person: ${turn.persona ?? 'human'}`);
  if (turn.author === 'fallback') {
    return h('span', { class: 'tactic', 'data-testid': 'fallback-author' }, `tactic: ${turn.persona} (fallback: the seat was silent)`);
  }
  // a scripted challenger's "persona" is its tactic: no persona page to link to
  return turn.persona && turn.model !== 'script'
    ? h('a', { href: `/personas/${encodeURIComponent(turn.persona)}` }, names.get(turn.persona) ?? turn.persona)
    : turn.persona ? h('span', { class: 'tactic' }, `tactic: ${turn.persona}`) : null;
}

const MODEL_LABEL = { script: 'scripted lines', human: 'written by a person' };

function header(turn, names) {
  const persona = speaker(turn, names);
  return h('header', { class: 'turn-head' },
    h('span', { class: `side-tag ${turn.side}` }, SIDE_LABEL[turn.side] ?? turn.side),
    ROLE_LABEL[turn.role] ? h('span', { class: 'role', 'data-testid': 'role' }, ROLE_LABEL[turn.role]) : null,
    h('span', { class: 'kind' }, kindLabel(turn)),
    persona,
    turn.model ? h('span', { class: 'model' }, MODEL_LABEL[turn.model] ?? turn.model) : null,
    loreNote(turn.lore));
}

/** Which of the speaker's lorebook entries were in its context for this turn. */
function loreNote(lore) {
  if (!lore?.length) return null;
  return h('span', { class: 'lore', 'data-testid': 'lore', title: 'Lorebook entries inserted into this turn\'s context' },
    'lore: ', lore.map((name, i) => [i ? ', ' : '', h('span', { class: 'lore-entry' }, name)]));
}

/** The stance probe's answer, beside the verdict: what the target's own model says it holds. */
function probeChip(probe) {
  const verdict = probe.holds == null ? 'neither yes nor no' : probe.holds ? 'holds its side' : 'gave up its side';
  const cls = probe.holds == null ? 'unscored' : probe.holds ? 'holds' : 'gave-up';
  // p(yes): the model's own odds of yes over no, from its token probabilities (when it gives them)
  const odds = probe.p_yes == null ? '' : ` · p(yes) ${fmt(probe.p_yes)}`;
  return h('span', {
    class: `probe-chip ${cls}`, 'data-testid': 'probe', 'data-turn': probe.turn,
    'data-holds': probe.holds == null ? 'none' : String(probe.holds),
    title: `${probe.question} (asked in a side channel the challenger never sees)`,
  }, `probe${PROBE_METHODS[probe.method] || ''}: “${probe.answer || (probe.error ? 'no answer' : '')}” · ${verdict}${odds}`);
}

/** Keeps one element per turn inside container, in turn order; render is idempotent. */
export class TurnList {
  constructor(container) {
    this.container = container;
    this.items = new Map();
  }

  element(turn) {
    let item = this.items.get(turn.turn);
    if (!item) {
      const text = document.createTextNode('');
      const note = h('p', { class: 'restart-note muted', 'data-testid': 'turn-restarted', hidden: true });
      const el = h('article', { class: 'turn', 'data-testid': 'turn', 'data-turn': turn.turn },
        h('header', { class: 'turn-head' }),
        note,
        h('p', { class: 'turn-text' }, text),
        h('div', { class: 'turn-foot' }));
      item = { el, note, text, headKey: null, verdict: undefined, done: null, probe: undefined, restarted: null };
      this.items.set(turn.turn, item);
      const next = [...this.items.keys()].filter((n) => n > turn.turn).sort((a, b) => a - b)[0];
      this.container.insertBefore(el, next === undefined ? null : this.items.get(next).el);
    }
    return item;
  }

  render(turn, { names, accuracy, live }) {
    const item = this.element(turn);
    const { el } = item;
    el.dataset.side = turn.side;
    // A turn left unfinished by a failed or cancelled match is marked, not shown as still typing.
    const state = turn.done ? '' : live ? ' streaming' : ' interrupted';
    el.className = `turn ${turn.side}${state}`;
    // "true" once turn_completed arrived: lets tests (and styles) tell streamed text from final.
    el.dataset.complete = String(Boolean(turn.done));
    el.dataset.author = turn.author ?? '';
    const headKey = [turn.side, turn.role, turn.kind, turn.round, turn.persona, turn.model, turn.author,
      names.get(turn.persona), ...(turn.lore ?? [])].join('|');
    if (headKey !== item.headKey) {
      el.querySelector('.turn-head').replaceWith(header(turn, names));
      item.headKey = headKey;
    }
    if ((turn.restarted ?? null) !== item.restarted) {
      item.restarted = turn.restarted ?? null;
      const reason = item.restarted ?? '';
      item.note.textContent = reason ? `↻ ${reason[0].toUpperCase()}${reason.slice(1)}` : '';
      item.note.hidden = !reason;
    }
    // Tokens extend the text, except after a restart; append the new part when they do.
    const shown = item.text.data;
    if (turn.text.startsWith(shown)) item.text.appendData(turn.text.slice(shown.length));
    else item.text.data = turn.text;
    if (turn.verdict !== item.verdict || turn.done !== item.done || turn.probe !== item.probe) {
      this.renderFoot(item, turn, accuracy);
    }
  }

  renderFoot(item, turn, accuracy) {
    const foot = item.el.querySelector('.turn-foot');
    const wasOpen = foot.querySelector('details')?.open ?? false;
    const probe = turn.probe ? probeChip(turn.probe) : null;
    if (turn.verdict) foot.replaceChildren(verdictChip(turn.verdict, { open: wasOpen, accuracy }), probe ?? '');
    else if (turn.done && turn.judged === false) foot.replaceChildren(h('span', { class: 'muted' }, 'Not judged: pressure on the target.'));
    else if (turn.done) foot.replaceChildren(h('span', { class: 'pending' }, 'Judging…'), probe ?? '');
    else foot.replaceChildren();
    item.verdict = turn.verdict;
    item.done = turn.done;
    item.probe = turn.probe;
  }
}
