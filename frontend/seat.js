// The human challenger's seat (/matches/{id}/seat#token=...): the match page with a panel on top
// where the seat's holder writes each challenger turn (word count, countdown, Send). The token
// comes in the link's fragment (never sent to a server) and is kept in sessionStorage, so a
// reload reattaches; a turn being sent is kept there too, and sent again with the same
// idempotency key after a reload: the server stores it once.
import { api, isAbort } from './api.js';
import { ACTIVE, h } from './dom.js';
import { renderMatch } from './match.js';

const TYPING_EVERY_MS = 2500;
const storeKey = (id, part = '') => `arena.seat.${id}${part ? `.${part}` : ''}`;

function stored(key) {
  try { return sessionStorage.getItem(key); } catch { return null; }
}

function store(key, value) {
  try {
    if (value == null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch { /* private mode: the seat still works until a reload */ }
}

/** The token of the link's fragment (then dropped from the address bar), or the stored one. */
function seatToken(id) {
  const found = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (found) {
    store(storeKey(id), decodeURIComponent(found[1]));
    history.replaceState(history.state, '', location.pathname + location.search);
  }
  return stored(storeKey(id));
}

export function countWords(text) {
  return (text.replace(/[\u2018\u2019]/g, "'").match(/[\w']+/gu) ?? []).length;
}

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

class SeatPanel {
  constructor(id, token) {
    this.id = id;
    this.token = token;
    this.sent = new Map(); // turn -> idempotency key
    this.wordLimit = null;
    this.match = null; // the match page's state
    this.lastTyping = 0;
    this.sending = false;
    this.text = h('textarea', { id: 'seat-text', rows: 5, 'data-testid': 'seat-text', disabled: true,
      oninput: () => this.onInput() });
    this.words = h('span', { class: 'muted', 'data-testid': 'seat-words', 'aria-live': 'polite' });
    this.countdown = h('span', { class: 'seat-countdown', 'data-testid': 'seat-countdown' });
    this.send = h('button', { type: 'button', 'data-testid': 'seat-send', disabled: true, onclick: () => this.submit() }, 'Send');
    this.status = h('p', { class: 'muted', 'data-testid': 'seat-status', role: 'status' }, 'Checking your seat…');
    this.error = h('p', { class: 'error', 'data-testid': 'seat-error', role: 'alert', hidden: true });
    this.text.value = stored(storeKey(id, 'draft')) ?? '';
    this.el = h('section', { class: 'card seat', 'aria-labelledby': 'seat-h', 'data-testid': 'seat' },
      h('h2', { id: 'seat-h' }, 'Your seat: the challenger'),
      h('p', { class: 'muted' }, 'Push the target off its side. Write your turn and press Send before the time runs out; '
        + 'a turn you leave silent is spoken by the fallback tactic.'),
      this.status,
      h('label', { for: 'seat-text' }, 'Your turn'), this.text,
      h('p', { class: 'seat-bar' }, this.words, ' ', this.countdown, ' ', this.send),
      this.error);
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
  }

  async attach(signal) {
    if (!this.token) {
      this.status.textContent = 'This page needs the seat link you were given (it carries the seat token). You can watch the match below.';
      return;
    }
    try {
      const seat = await api.seat(this.id, this.token, signal);
      this.wordLimit = seat.word_limit;
      for (const [turn, key] of Object.entries(seat.sent ?? {})) this.sent.set(Number(turn), key);
      this.status.textContent = `You hold this seat${seat.handle ? ` as ${seat.handle}` : ''}: `
        + `${seat.turn_seconds} s per turn, at most ${seat.word_limit} words.`;
      await this.resendPending();
    } catch (err) {
      if (isAbort(err)) return;
      this.token = null;
      this.status.textContent = `You cannot write in this seat: ${err.message}`;
    }
    this.sync();
  }

  /** A send cut off by a reload: sent again with its key, unless the server has it already. */
  async resendPending() {
    const raw = stored(storeKey(this.id, 'pending'));
    if (!raw) return;
    const pending = JSON.parse(raw);
    if (this.sent.get(pending.turn) === pending.key) { // it reached the server: nothing to resend
      store(storeKey(this.id, 'pending'), null);
      if (this.text.value === pending.text) this.text.value = '';
      store(storeKey(this.id, 'draft'), null);
      this.status.textContent = 'Your last turn reached the server before the reload.';
      return;
    }
    await this.post(pending);
  }

  /** "challenge 2": the turn as the transcript names it (from the plan), else "turn n". */
  label(turn) {
    const round = this.match?.plan?.[turn]?.round;
    return round ? `Challenge ${round}` : `Turn ${turn + 1}`;
  }

  due() {
    const st = this.match;
    const turn = st?.awaiting?.turn;
    return Boolean(this.token && st && ACTIVE.has(st.status) && turn != null && !this.sent.has(turn));
  }

  onEvent(_ev, state) {
    this.match = state;
    this.sync();
  }

  onInput() {
    store(storeKey(this.id, 'draft'), this.text.value);
    this.sync();
    if (this.due() && Date.now() - this.lastTyping > TYPING_EVERY_MS) {
      this.lastTyping = Date.now();
      api.seatTyping(this.id, this.token).catch(() => {}); // the indicator is best-effort
    }
  }

  sync() {
    const due = this.due();
    const words = countWords(this.text.value);
    const over = this.wordLimit != null && words > this.wordLimit;
    this.words.textContent = `${words} / ${this.wordLimit ?? '?'} words`;
    this.words.classList.toggle('over', over);
    this.text.disabled = !this.token || !ACTIVE.has(this.match?.status ?? 'queued');
    this.send.disabled = !due || over || !words || this.sending;
    this.tick();
  }

  tick() {
    const awaiting = this.match?.awaiting;
    if (!this.due() || !awaiting) {
      const over = this.match && !ACTIVE.has(this.match.status);
      this.countdown.textContent = over ? 'The match is over.' : this.token ? 'Wait for the target to answer.' : '';
      return;
    }
    const left = Math.max(0, Math.ceil((awaiting.deadline - Date.now()) / 1000));
    this.countdown.textContent = `${this.label(awaiting.turn)}: ${left} s left`;
  }

  async submit() {
    const turn = this.match?.awaiting?.turn;
    if (turn == null || !this.due()) return;
    await this.post({ turn, key: newKey(), text: this.text.value });
  }

  async post(pending) {
    this.sending = true;
    this.sync();
    store(storeKey(this.id, 'pending'), JSON.stringify(pending));
    try {
      const answer = await api.sendSeatTurn(this.id, this.token, { text: pending.text, key: pending.key });
      this.sent.set(answer.turn, pending.key);
      store(storeKey(this.id, 'pending'), null);
      store(storeKey(this.id, 'draft'), null);
      if (this.text.value === pending.text) this.text.value = '';
      this.showError('');
      this.status.textContent = `${this.label(answer.turn)} sent.`;
    } catch (err) {
      // refused for good (not the seat's turn, too late, too long): not sent again on reload
      if (err.status && err.status !== 429 && err.status !== 0) store(storeKey(this.id, 'pending'), null);
      this.showError(`Not sent: ${err.message}`);
    } finally {
      this.sending = false;
      this.sync();
    }
  }
}

export async function renderSeat(root, signal, id) {
  const panel = new SeatPanel(id, seatToken(id));
  const ticking = setInterval(() => panel.tick(), 500);
  signal.addEventListener('abort', () => clearInterval(ticking));
  await renderMatch(root, signal, id, {
    panel: panel.el,
    onEvent: (ev, state) => panel.onEvent(ev, state),
    onReady: (state) => panel.onEvent(null, state),
  });
  if (signal.aborted) return;
  await panel.attach(signal); // once the match (its plan, the turn due) is known
  document.title = `Your seat — ${document.title}`;
}
