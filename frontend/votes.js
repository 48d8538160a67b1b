// Crowd votes under each completed turn (README "Crowd votes"). The tally and the judge's label
// stay hidden until this spectator votes on the turn, so that neither anchors the vote; so do the
// judge's scores elsewhere on the page (match.js asks `hides(turn)`), unless the spectator chose
// "Show all verdicts" (kept for the tab in sessionStorage).
// Screen readers hear this spectator's own vote at once; the tallies that other spectators' votes
// change are announced at most once per turn of the match (`turnChanged`), never vote by vote.
import { api } from './api.js';
import { errorBox, h } from './dom.js';

const REVEAL_KEY = 'arena.showAllVerdicts';

function storedReveal() {
  try {
    return sessionStorage.getItem(REVEAL_KEY) === '1';
  } catch {
    return false; // storage unavailable (privacy modes): hide, as for a new tab
  }
}

const LABELS = ['holds', 'wavers', 'switched'];
const JUDGE_LABEL = { same: 'holds', neutral: 'wavers', other: 'switched' };

function judgeLabel(verdict, side) {
  if (!verdict || !verdict.scored || !verdict.stance) return null;
  if (verdict.stance === 'neutral') return JUDGE_LABEL.neutral;
  return verdict.stance === side ? JUDGE_LABEL.same : JUDGE_LABEL.other;
}

function countsKey(counts) {
  return LABELS.map((l) => counts?.[l] ?? 0).join(',');
}

function tallyText(counts, addresses) {
  const text = LABELS.map((l) => `${l} ${counts?.[l] ?? 0}`).join(' · ');
  // the votes of one address count once toward the crowd's label: say how many there are
  return addresses == null ? text : `${text} (from ${addresses} address${addresses === 1 ? '' : 'es'})`;
}

/** One control per completed turn; tallies come from the POST reply, GET polls and `votes` events. */
export class VoteBoard {
  constructor(matchId, isLive = () => false) {
    this.matchId = matchId;
    this.isLive = isLive; // while live, `votes` events bring the tallies: no polling
    this.items = new Map();
    this.counts = new Map();
    this.addresses = new Map();
    this.mine = new Map();
    this.enabled = true;
    this.agreement = h('p', { class: 'muted crowd-agreement', 'data-testid': 'crowd-agreement', hidden: true });
    this.polling = null;
    this.revealed = storedReveal();
    this.onChange = () => {}; // the page redraws its scores when what hides them changes
    const reveal = h('button', {
      type: 'button', class: 'secondary reveal-verdicts', 'data-testid': 'reveal-verdicts',
      'aria-pressed': String(this.revealed), onclick: () => this.reveal(!this.revealed),
    }, 'Show all verdicts');
    this.noticeText = h('span', {});
    // one polite live region for every tally (the tallies under the turns are not live regions)
    this.announcer = h('span', { class: 'visually-hidden', 'aria-live': 'polite', 'data-testid': 'vote-announcer' });
    this.heard = new Map(); // turn -> the counts this spectator was last told of (or saw first)
    this.notice = h('p', { class: 'muted vote-notice', 'data-testid': 'vote-notice', 'aria-live': 'polite' },
      this.noticeText, ' ', reveal);
    this.revealButton = reveal;
    this.region = h('div', {}, this.notice, this.announcer);
    this.paintNotice();
    this.load();
  }

  /** Whether the judge's score of turn n is hidden from this spectator (no vote on it yet). */
  hides(n) {
    return this.enabled && !this.revealed && !this.mine.has(n);
  }

  reveal(on) {
    this.revealed = on;
    try {
      if (on) sessionStorage.setItem(REVEAL_KEY, '1');
      else sessionStorage.removeItem(REVEAL_KEY);
    } catch { /* remembered for this page only */ }
    this.paintNotice();
    for (const [n, item] of this.items) this.paint(n, item);
    this.onChange();
  }

  /** Whether this spectator sees turn n's tally (voted on it, or chose to see all). */
  shows(n) {
    return this.mine.has(n) || this.revealed;
  }

  announce(text) {
    this.announcer.textContent = text;
  }

  /** The match moved to another turn: say once how the tallies shown changed since this
   * spectator last heard them (a tally not heard before, as on a replay, is only noted). */
  turnChanged() {
    const fresh = [];
    for (const [n, counts] of [...this.counts].sort(([a], [b]) => a - b)) {
      if (!this.shows(n)) continue;
      const key = countsKey(counts);
      if (this.heard.has(n) && this.heard.get(n) !== key) fresh.push(n);
      this.heard.set(n, key);
    }
    if (!fresh.length) return;
    this.announce(`New votes. ${fresh.map((n) =>
      `Turn ${n + 1}, spectators: ${tallyText(this.counts.get(n), this.addresses.get(n))}.`).join(' ')}`);
  }

  paintNotice() {
    this.notice.hidden = !this.enabled;
    this.revealButton.setAttribute('aria-pressed', String(this.revealed));
    this.noticeText.textContent = this.revealed
      ? 'All the judge’s scores are shown. Press again to hide those of turns you have not voted on.'
      : 'The judge’s scores of turns you have not voted on are hidden (chart, holding so far, results) '
        + 'so that they do not sway your vote. Vote on a turn to see its score, or:';
  }

  /** After a vote, GET the tallies every few seconds while the page shows this match and the
   * match is over (a finished match sends no more events). */
  poll() {
    if (this.polling) return;
    this.polling = setInterval(() => {
      if (!this.agreement.isConnected && ![...this.items.values()].some((i) => i.el.isConnected)) {
        clearInterval(this.polling);
        return;
      }
      if (!this.isLive()) this.load();
    }, 5000);
  }

  async load() {
    let body;
    try {
      body = await api.matchVotes(this.matchId);
    } catch (err) {
      if (err.status === 404) this.disable();
      return; // otherwise the control still works; tallies arrive with the first vote
    }
    for (const t of body.turns) {
      this.counts.set(t.turn, t.counts);
      this.addresses.set(t.turn, t.ips);
      if (t.mine) this.mine.set(t.turn, t.mine);
    }
    for (const [n, item] of this.items) this.paint(n, item);
    this.onChange();
    const figures = Object.entries(body.agreement ?? {}).filter(([, a]) => a.accuracy != null);
    this.agreement.hidden = !figures.length;
    const alpha = body.alpha == null ? '' : ` Spectators agree among themselves: Krippendorff’s α ${body.alpha.toFixed(2)}.`;
    this.agreement.textContent = figures.map(([j, a]) =>
      `Judge ${j} ${body.agreement_label[j]} (turns with ${body.min_votes}+ votes).`).join(' ') + alpha;
  }

  /** Votes are off on this server (ARENA_VOTES=off): no control, nothing hidden. */
  disable() {
    this.enabled = false;
    for (const item of this.items.values()) {
      item.el.remove();
      if (item.article) delete item.article.dataset.vote;
    }
    this.paintNotice();
    this.onChange();
  }

  /** Put (or refresh) the control under a turn's article. */
  mount(article, turn, name) {
    if (!this.enabled || !turn?.done) return;
    let item = this.items.get(turn.turn);
    if (!item) {
      const status = h('p', { class: 'votes-result', 'data-testid': 'vote-result' });
      const buttons = LABELS.map((label) => h('button', {
        type: 'button', class: 'secondary vote-button', 'data-label': label, 'aria-pressed': 'false',
        onclick: () => this.cast(turn.turn, label),
      }, label));
      const el = h('div', { class: 'votes', 'data-testid': 'votes', role: 'group', 'aria-label': `Vote on turn ${turn.turn + 1}` },
        h('span', { class: 'votes-question' }, `Did ${name} hold its position? `),
        ...buttons,
        status);
      item = { el, status, buttons, side: turn.side, verdict: null, error: null, retry: null };
      this.items.set(turn.turn, item);
    }
    if (item.el.parentNode !== article) article.append(item.el);
    if (!this.agreement.isConnected && article.parentNode) article.parentNode.after(this.agreement);
    item.article = article;
    item.verdict = turn.verdict ?? item.verdict;
    this.paint(turn.turn, item);
  }

  paint(n, item) {
    const mine = this.mine.get(n);
    for (const b of item.buttons) b.setAttribute('aria-pressed', String(b.dataset.label === mine));
    // the judge's verdict chip (turn.js) stays hidden until this spectator voted (style.css)
    if (item.article) item.article.dataset.vote = mine ? 'done' : this.revealed ? 'revealed' : 'pending';
    const judge = judgeLabel(item.verdict, item.side);
    const tally = `Spectators: ${tallyText(this.counts.get(n), this.addresses.get(n))}. Judge: ${judge ?? 'no verdict yet'}.`;
    const text = mine ? `You: ${mine}. ${tally}`
      : this.revealed ? tally
        : 'The spectators’ tally and the judge’s label show after you vote, so they do not sway you.';
    if (item.status.textContent !== text) item.status.textContent = text;
  }

  async cast(n, label) {
    const item = this.items.get(n);
    let body;
    item.retry = label;
    try {
      body = await api.castVote(this.matchId, n, label);
    } catch (err) {
      const message = `Your vote was not taken: ${err.message}`;
      // the same box, reworded: a keyboard on its Retry button stays there
      if (item.error) item.error.querySelector('p').textContent = message;
      else item.el.append(item.error = errorBox(message, () => this.cast(n, item.retry)));
      return;
    }
    if (item.error) {
      const focused = item.error.contains(document.activeElement);
      item.error.remove();
      item.error = null;
      if (focused) item.buttons.find((b) => b.dataset.label === label)?.focus();
    }
    const first = !this.mine.has(n);
    this.mine.set(n, label);
    this.counts.set(n, body.counts);
    this.paint(n, item);
    this.announce(`Your vote on turn ${n + 1}: ${label}. Spectators: ${tallyText(body.counts, this.addresses.get(n))}.`);
    this.heard.set(n, countsKey(body.counts));
    if (first) this.onChange(); // this turn's score shows now
    this.load(); // the judges' agreement may have changed
    this.poll();
  }

  /** A `votes` event from the match's stream: another spectator's vote. */
  update(ev) {
    this.counts.set(ev.turn, ev.counts);
    if (ev.addresses != null) this.addresses.set(ev.turn, ev.addresses);
    const item = this.items.get(ev.turn);
    if (item) this.paint(ev.turn, item);
  }
}
