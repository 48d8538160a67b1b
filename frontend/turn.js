// One transcript turn element, updated in place from the render state.
import { h, SIDE_LABEL } from './dom.js';
import { verdictChip } from './verdict.js';

const KIND_LABEL = { opening: 'Opening', rebuttal: 'Rebuttal', closing: 'Closing' };

function kindLabel(turn, rounds) {
  if (turn.kind === 'rebuttal' && rounds) return `Rebuttal ${Math.floor(turn.turn / 2)}`;
  return KIND_LABEL[turn.kind] ?? `Turn ${turn.turn + 1}`;
}

function header(turn, names, rounds) {
  const persona = turn.persona
    ? h('a', { href: `/personas/${encodeURIComponent(turn.persona)}` }, names.get(turn.persona) ?? turn.persona)
    : null;
  return h('header', { class: 'turn-head' },
    h('span', { class: `side-tag ${turn.side}` }, SIDE_LABEL[turn.side] ?? turn.side),
    h('span', { class: 'kind' }, kindLabel(turn, rounds)),
    persona,
    turn.model ? h('span', { class: 'model' }, turn.model) : null);
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
      item = { el, note, text, headKey: null, verdict: undefined, done: null, restarted: null };
      this.items.set(turn.turn, item);
      const next = [...this.items.keys()].filter((n) => n > turn.turn).sort((a, b) => a - b)[0];
      this.container.insertBefore(el, next === undefined ? null : this.items.get(next).el);
    }
    return item;
  }

  render(turn, { names, rounds, accuracy, live }) {
    const item = this.element(turn);
    const { el } = item;
    el.dataset.side = turn.side;
    // A turn left unfinished by a failed or cancelled match is marked, not shown as still typing.
    const state = turn.done ? '' : live ? ' streaming' : ' interrupted';
    el.className = `turn ${turn.side}${state}`;
    // "true" once turn_completed arrived: lets tests (and styles) tell streamed text from final.
    el.dataset.complete = String(Boolean(turn.done));
    const headKey = [turn.side, turn.kind, turn.persona, turn.model, names.get(turn.persona)].join('|');
    if (headKey !== item.headKey) {
      el.querySelector('.turn-head').replaceWith(header(turn, names, rounds));
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
    if (turn.verdict !== item.verdict || turn.done !== item.done) this.renderFoot(item, turn, accuracy);
  }

  renderFoot(item, turn, accuracy) {
    const foot = item.el.querySelector('.turn-foot');
    const wasOpen = foot.querySelector('details')?.open ?? false;
    if (turn.verdict) foot.replaceChildren(verdictChip(turn.verdict, { open: wasOpen, accuracy }));
    else if (turn.done) foot.replaceChildren(h('span', { class: 'pending' }, 'Judging…'));
    else foot.replaceChildren();
    item.verdict = turn.verdict;
    item.done = turn.done;
  }
}
