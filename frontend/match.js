// Match page: header, debaters, live chart, transcript and results, all rendered from events.
import { api, isAbort, personaNames } from './api.js';
import { lineChart } from './chart.js';
import { ACTIVE, fmt, h, s, setHolding, SIDE_LABEL, statusBadge } from './dom.js';
import { openLive, TERMINAL } from './live.js';
import { applyEvent, holdingSeries, newState, phaseLabels } from './matchstate.js';
import { calibrationLine, pressureResults, resultLine, seatLabel } from './pressure.js';
import { metricsTable } from './results.js';
import { TurnList } from './turn.js';
import { VoteBoard } from './votes.js';

function skeleton() {
  const v = {
    eyebrow: h('p', { class: 'eyebrow' }, 'Motion'),
    title: h('h1', { tabindex: '-1', class: 'motion' }, 'Loading match…'),
    setting: h('div', {}),
    status: h('p', { class: 'status', 'data-testid': 'status', role: 'status', 'aria-live': 'polite' }),
    conn: h('p', { class: 'conn', 'aria-live': 'polite' }),
    // a human challenger's turn: whose turn it is, the time left, "challenger is typing"
    seat: h('p', { class: 'seat-note', 'data-testid': 'seat-note', hidden: true }),
    actions: h('div', { class: 'actions' }),
    debaters: h('div', { class: 'debaters' }),
    chart: s('svg', { 'data-testid': 'chart', class: 'chart' }),
    chartNote: h('p', { class: 'muted chart-note' }),
    voteNotice: h('div', {}),
    transcript: h('div', { class: 'transcript', 'data-testid': 'transcript' }),
    empty: h('p', { class: 'empty' }, 'Waiting for the first turn…'),
    results: h('section', { class: 'card', 'aria-labelledby': 'results-h', hidden: true },
      h('h2', { id: 'results-h' }, 'Results')),
  };
  v.el = h('article', { class: 'match-page' },
    h('header', { class: 'match-head' }, v.eyebrow, v.title, v.setting, v.status, v.seat, v.conn, v.actions),
    v.debaters,
    h('section', { class: 'card', 'aria-labelledby': 'chart-h' },
      h('h2', { id: 'chart-h' }, 'Position holding per turn'), v.chart,
      h('p', { class: 'legend' },
        h('span', { class: 'key pro' }, 'PRO'), h('span', { class: 'key con' }, 'CON'),
        h('span', { class: 'muted' }, '1 = holds the position fully, 0 = abandoned it')),
      v.chartNote, v.voteNotice),
    h('section', { 'aria-labelledby': 'transcript-h' }, h('h2', { id: 'transcript-h' }, 'Transcript'), v.empty, v.transcript),
    v.results);
  return v;
}

class MatchView {
  constructor(id, summary, names) {
    this.id = id;
    this.names = names;
    this.accuracy = summary?.judge_accuracy ?? {};
    this.calibration = summary?.judge_calibration ?? {};
    this.state = newState(summary);
    this.liveAfter = summary?.turns_done ?? -1; // turns up to this one had started before the page
    this.v = skeleton();
    this.turns = new TurnList(this.v.transcript);
    this.votes = new VoteBoard(id, () => ACTIVE.has(this.state.status));
    // while voting is on, a turn's score shows only once this spectator voted on it (README "Crowd votes")
    this.votes.onChange = () => {
      this.renderChart();
      for (const side of ['pro', 'con']) this.renderDebater(side);
      this.renderResults();
    };
    this.v.voteNotice.replaceWith(this.votes.region);
    this.cancelling = false;
  }

  debater(side) {
    return this.state.spec?.[side] ?? this.state.summary?.[side] ?? null;
  }

  renderHead() {
    const motion = this.state.spec?.motion ?? this.state.summary?.motion ?? 'Unknown motion';
    this.v.title.textContent = motion;
    document.title = `${motion} — Persona Arena`;
    const calibration = calibrationLine(this.state.spec);
    this.v.eyebrow.textContent = calibration ? 'Claim' : 'Motion';
    this.v.setting.replaceChildren(...(calibration ? [calibration] : []));
    for (const side of ['pro', 'con']) this.renderDebater(side);
  }

  renderDebater(side) {
    // Rebuilt only when who debates changes, so a focused link survives live updates.
    const d = this.debater(side);
    const key = [d?.persona, d?.model, d?.version, this.names.get(d?.persona)].join('|');
    let card = this.v.debaters.querySelector(`.debater.${side}`);
    if (card?.dataset.key !== key) {
      const fresh = h('section', { class: `debater ${side}`, 'data-key': key, 'aria-label': `${SIDE_LABEL[side]} debater` },
        h('p', { class: `side-tag ${side}` }, seatLabel(this.state, side)),
        h('p', { class: 'debater-name' }, d?.model === 'human' // a person, the tactic only falls back
          ? this.state.spec?.pressure?.human?.handle ?? 'a person'
          : d?.persona && d.model !== 'script' // a scripted seat is a tactic
            ? h('a', { href: `/personas/${encodeURIComponent(d.persona)}` }, this.names.get(d.persona) ?? d.persona)
            : d?.persona ?? '—'),
        h('p', { class: 'model' }, d?.model ?? 'model not chosen yet'),
        d?.version ? h('p', { class: 'persona-version muted', 'data-testid': `version-${side}` }, `persona version ${d.version}`) : null,
        h('p', { class: 'debater-holding' }, 'Holding so far ', h('span', { class: 'holding-chip' })));
      if (card) card.replaceWith(fresh);
      else this.v.debaters.append(fresh);
      card = fresh;
    }
    const all = holdingSeries(this.state, side);
    const series = all.filter((p) => !this.votes.hides(p.turn));
    const mean = series.length ? series.reduce((a, p) => a + p.holding, 0) / series.length : null;
    const chip = card.querySelector('.holding-chip');
    const hidden = all.length - series.length;
    chip.textContent = !hidden ? fmt(mean)
      : series.length ? `${fmt(mean)} · ${series.length} of ${all.length} turns` : 'hidden until you vote';
    chip.dataset.hiddenTurns = String(hidden);
    setHolding(chip, mean);
    chip.title = hidden ? `over the ${series.length} turns you voted on; ${hidden} hidden until you vote` : '';
  }

  statusText() {
    const st = this.state;
    const total = st.totalTurns;
    const started = [...st.turns.values()].sort((a, b) => b.turn - a.turn)[0];
    switch (st.status) {
      case 'queued': return 'Waiting for a worker to start the debate.';
      case 'running': if (st.awaiting) return `Live: waiting for the challenger (a person) to write turn ${st.awaiting.turn + 1}.`;
        return started
        ? `Live: turn ${started.turn + 1}${total ? ` of ${total}` : ''} (${SIDE_LABEL[started.side]}).`
        : 'Starting the debate…';
      case 'completed': return `Finished: ${total ?? st.turns.size} turns judged.`;
      case 'failed': return `The match failed${st.failedTurn != null ? ` at turn ${st.failedTurn + 1}` : ''}: ${st.error ?? 'unknown error'}`;
      case 'cancelled': return `The match was cancelled: ${st.cancelReason ?? 'cancelled by request'}.`;
      default: return '';
    }
  }

  /** The human seat's line: time left on the awaited turn, and "challenger is typing". */
  renderSeat() {
    const { awaiting, typing } = this.state;
    const active = ACTIVE.has(this.state.status) && awaiting;
    this.v.seat.hidden = !active;
    if (!active) return;
    const left = Math.max(0, Math.ceil((awaiting.deadline - Date.now()) / 1000));
    const isTyping = typing && typing.turn === awaiting.turn && Date.now() - typing.at < TYPING_SHOWN_MS;
    const text = `The challenger has ${left} s to write turn ${awaiting.turn + 1}; then the fallback tactic speaks it.`;
    const key = `${text}|${isTyping}`;
    if (this.v.seat.dataset.key === key) return;
    this.v.seat.dataset.key = key;
    this.v.seat.replaceChildren(text, isTyping
      ? h('span', { class: 'typing', 'data-testid': 'typing' }, ' Challenger is typing…') : '');
  }

  renderStatus() {
    this.renderSeat();
    const { status } = this.state;
    this.v.status.dataset.status = status;
    this.v.status.className = `status status-${status}`;
    this.v.status.replaceChildren(statusBadge(status), ' ', h('span', {}, this.statusText()));
    this.renderActions();
  }

  renderActions() {
    const active = ACTIVE.has(this.state.status);
    const existing = this.v.actions.querySelector('.cancel');
    if (active && !existing) {
      this.v.actions.prepend(h('button', { type: 'button', class: 'danger cancel', onclick: () => this.cancel() }, 'Cancel match'));
    } else if (!active && existing) existing.remove();
    if (!this.v.actions.querySelector('.copy')) this.v.actions.append(copyLink(this.id));
  }

  async cancel() {
    const btn = this.v.actions.querySelector('.cancel');
    btn.disabled = true;
    btn.textContent = 'Cancelling…';
    try {
      await api.cancelMatch(this.id);
    } catch (err) {
      btn.disabled = false;
      btn.textContent = 'Cancel match';
      this.v.conn.textContent = `Could not cancel: ${err.message}`;
      btn.focus(); // the button was disabled while a token was asked for, so focus fell away
    }
  }

  renderChart() {
    const { labels, short } = phaseLabels(this.state); // from the turn plan
    const series = ['pro', 'con'].map((side) => {
      const name = this.names.get(this.debater(side)?.persona) ?? SIDE_LABEL[side];
      return {
        cls: side,
        label: name,
        points: holdingSeries(this.state, side).map((p) => (this.votes.hides(p.turn)
          ? { x: p.x, turn: p.turn, hidden: true,
            title: `${SIDE_LABEL[side]} ${name}, turn ${p.turn + 1}: score hidden until you vote on it` }
          : { x: p.x, y: p.holding, turn: p.turn,
            title: `${SIDE_LABEL[side]} ${name}, turn ${p.turn + 1}: holding ${fmt(p.holding)}` })),
      };
    });
    const [pro, con] = series.map((x) => x.points.filter((p) => !p.hidden).length);
    const hidden = series.reduce((a, x) => a + x.points.filter((p) => p.hidden).length, 0);
    this.chartWidth = this.v.chart.getBoundingClientRect().width || 640;
    lineChart(this.v.chart, {
      width: this.chartWidth, xCount: labels.length, xLabels: labels, xShort: short, series,
      label: `Holding per turn: ${pro} PRO and ${con} CON verdicts shown${hidden ? `, ${hidden} hidden until you vote` : ''}`,
    });
    const judges = this.state.spec?.judges ?? this.state.summary?.judges ?? [];
    this.v.chartNote.textContent = judges.length ? `Judged by ${judges.map((j) => {
      const cal = this.calibration[j];
      return `${j} (${cal == null ? 'uncalibrated' : `accuracy ${cal}`})`;
    }).join(', ')}.` : '';
  }

  renderResults() {
    const { metrics } = this.state;
    this.v.results.hidden = !metrics;
    for (const el of this.v.results.querySelectorAll('.results')) el.remove();
    this.v.results.querySelector('.pressure-results')?.remove();
    this.v.results.querySelector('.results-hidden')?.remove();
    if (!metrics) return;
    // the figures sum up every turn's score: shown once none of them is hidden from this spectator
    const hidden = [...this.state.turns.values()].filter((t) => t.verdict?.scored && this.votes.hides(t.turn)).length;
    if (hidden) {
      this.v.results.append(h('p', { class: 'muted results-hidden', 'data-testid': 'results-hidden' },
        `The results sum up the judge’s scores, ${hidden} of which you have not voted on yet: `
        + 'they show once you have voted on every turn, or after “Show all verdicts”.'));
      return;
    }
    if (this.state.spec?.pressure?.human) {
      const target = this.debater(this.state.spec.pressure.target)?.persona;
      const line = resultLine(metrics, this.names.get(target) ?? target);
      if (line) this.v.results.append(h('p', { class: 'results result-line', 'data-testid': 'result-line' }, line));
    }
    this.v.results.append(metricsTable(metrics, this.names));
    if (metrics.pressure) this.v.results.append(pressureResults(metrics));
  }

  renderAll() {
    this.renderHead();
    this.renderStatus();
    for (const t of this.state.turns.values()) this.renderTurn(t.turn);
    this.renderChart();
    this.renderResults();
  }

  renderTurn(n) {
    const rounds = this.state.spec?.rounds;
    const live = ACTIVE.has(this.state.status);
    this.turns.render(this.state.turns.get(n), { names: this.names, rounds, accuracy: this.accuracy, live });
    const t = this.state.turns.get(n);
    if (t.judged !== false) this.votes.mount(this.turns.items.get(n).el, t, this.names.get(t.persona) ?? t.persona);
    this.v.empty.hidden = true;
  }

  onEvent(ev) {
    if (ev.type === 'votes') return this.votes.update(ev);
    if (ev.type === 'typing' || ev.type === 'awaiting') {
      applyEvent(this.state, ev);
      this.renderStatus();
      return undefined;
    }
    // other spectators' votes are told once per turn that starts live, not on the replay
    if ((ev.type === 'turn_started' && ev.turn > this.liveAfter) || TERMINAL.has(ev.type)) this.votes.turnChanged();
    const turn = applyEvent(this.state, ev);
    if (turn == null) {
      this.renderAll();
      return;
    }
    this.renderTurn(turn);
    if (ev.type === 'verdict') {
      this.renderChart();
      this.renderHead();
    }
    if (ev.type === 'turn_started' || ev.type === 'turn_completed') this.renderStatus();
  }

  onConnection(state, delay) {
    const messages = {
      reconnecting: delay > 400 ? `Connection lost; reconnecting in ${Math.ceil(delay / 1000)} s…` : '',
      not_found: 'This match does not exist on the server.',
    };
    this.v.conn.textContent = messages[state] ?? '';
  }
}

function copyLink(id) {
  const url = `${location.origin}/matches/${encodeURIComponent(id)}`;
  const note = h('span', { class: 'muted copy-note', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    try {
      await navigator.clipboard.writeText(url);
      note.textContent = 'Link copied.';
    } catch {
      const field = h('input', { type: 'text', readonly: true, value: url, 'aria-label': 'Link to this match', class: 'copy-field' });
      note.replaceChildren('Copy this link: ', field);
      field.select();
    }
  } }, 'Copy link');
  return h('span', { class: 'copy' }, button, note);
}

const TYPING_SHOWN_MS = 6000; // a typing event is shown this long, unless another one comes

/** The match page; `extras.panel` goes above it (the seat), `extras.onEvent` sees each event. */
export async function renderMatch(root, signal, id, extras = {}) {
  document.title = 'Match — Persona Arena';
  const placeholder = h('h1', { tabindex: '-1' }, 'Loading match…');
  root.append(placeholder);
  let summary = null;
  let loadError = null;
  try {
    summary = await api.match(id, signal);
  } catch (err) {
    if (isAbort(err)) return;
    if (err.status === 404) {
      placeholder.textContent = 'Match not found';
      root.append(h('p', {}, `There is no match with id “${id}”. `, h('a', { href: '/' }, 'See all matches'), '.'));
      return;
    }
    if (err.status === 410) {
      // removed from the live store by an archive run: the detail says when
      placeholder.textContent = 'Match archived';
      const detail = err.message.replace(/ \(HTTP 410\)$/, '');
      root.append(h('p', { 'data-testid': 'match-archived' }, `${detail}. `, h('a', { href: '/' }, 'See all matches'), '.'));
      return;
    }
    loadError = err;
  }
  const names = await personaNames();
  if (signal.aborted) return;
  const view = new MatchView(id, summary, names);
  const hadFocus = document.activeElement === placeholder;
  placeholder.replaceWith(view.v.el);
  if (extras.panel) view.v.el.querySelector('.match-head').after(extras.panel);
  if (hadFocus) view.v.title.focus({ preventScroll: true });
  view.renderAll();
  if (loadError) view.v.conn.textContent = `Could not load the match details (${loadError.message}); showing the live stream.`;
  const live = openLive(id, {
    onEvent: (ev) => {
      view.onEvent(ev);
      extras.onEvent?.(ev, view.state);
    },
    onConnection: (state, delay) => view.onConnection(state, delay),
  });
  // The chart is drawn at its real pixel width; redraw when that changes.
  const resize = new ResizeObserver(([entry]) => {
    if (Math.abs(entry.contentRect.width - view.chartWidth) > 4) view.renderChart();
  });
  resize.observe(view.v.chart);
  const ticking = setInterval(() => view.renderSeat(), 500); // the countdown, the typing line's end
  signal.addEventListener('abort', () => {
    live.close();
    resize.disconnect();
    clearInterval(ticking);
  });
  extras.onReady?.(view.state);
}
