// The match page's render state, built only from events so a replay yields the same state.
// Who speaks each turn, on which side and in which kind of turn comes from the match's turn plan
// (sent in match_started, and in the match detail for matches stored before it was sent): the
// page never re-derives it from turn numbers.
const FINAL = new Set(['completed', 'failed', 'cancelled']);

export function newState(summary) {
  return {
    spec: summary?.spec ?? null,
    summary: summary ?? null,
    status: summary?.status ?? 'queued',
    totalTurns: summary?.total_turns ?? null,
    plan: Array.isArray(summary?.plan) && summary.plan.length ? summary.plan : null,
    turns: new Map(),
    metrics: null,
    error: summary?.error ?? null,
    failedTurn: null,
    cancelReason: null,
    // a human challenger's turn the match waits for: {turn, deadline (ms), seconds}, or null
    awaiting: summary?.awaiting_turn != null && summary?.deadline
      ? { turn: summary.awaiting_turn, deadline: Date.parse(summary.deadline), seconds: null } : null,
    // when the seat last said it was typing (ms, this page's clock), and for which turn
    typing: null,
  };
}

/** The planned turn n ({index, role, side, kind, judged, round}), or null before the plan. */
export function planned(state, n) {
  return state.plan?.[n] ?? null;
}

function turnOf(state, n, side) {
  let turn = state.turns.get(n);
  if (!turn) {
    // A page opened mid-turn after a resume may see tokens first: the plan says who speaks.
    const p = planned(state, n);
    turn = { turn: n, side: side ?? p?.side ?? null, kind: p?.kind ?? null, persona: null,
      model: null, text: '', done: false, stats: null, verdict: null, probe: null, restarted: null,
      lore: [] };
    state.turns.set(n, turn);
  }
  const p = planned(state, n);
  if (p) Object.assign(turn, { role: p.role, round: p.round ?? 0, judged: p.judged !== false });
  return turn;
}

function running(state) {
  if (!FINAL.has(state.status)) state.status = 'running';
}

/** Apply one event; returns the turn number it touched, or null for match-level changes. */
export function applyEvent(state, ev) {
  switch (ev.type) {
    case 'match_started':
      state.spec = ev.spec ?? state.spec;
      state.totalTurns = ev.total_turns ?? state.totalTurns;
      // an old match's match_started has no plan: keep the one the server derived for it
      if (Array.isArray(ev.plan) && ev.plan.length) state.plan = ev.plan;
      running(state);
      return null;
    case 'turn_started': {
      const t = turnOf(state, ev.turn, ev.side);
      Object.assign(t, { side: ev.side, kind: ev.kind, persona: ev.persona, model: ev.model, author: ev.author ?? null });
      if (state.awaiting?.turn === ev.turn) state.awaiting = null;
      if (state.typing?.turn === ev.turn) state.typing = null;
      // the speaker's lorebook entries inserted into its context for this turn (none in old events)
      t.lore = Array.isArray(ev.lore) ? ev.lore : [];
      running(state);
      return ev.turn;
    }
    case 'token':
      turnOf(state, ev.turn).text += ev.text ?? '';
      running(state);
      return ev.turn;
    case 'turn_restarted': {
      // The reply starts again: the text streamed so far is void, the tokens that follow are the turn.
      const t = turnOf(state, ev.turn);
      t.text = '';
      t.restarted = ev.reason || 'restarted after a provider error';
      running(state);
      return ev.turn;
    }
    case 'turn_completed': {
      const t = turnOf(state, ev.turn, ev.side);
      Object.assign(t, { side: ev.side, kind: ev.kind ?? t.kind, text: ev.text ?? t.text, done: true });
      t.stats = { tokens_out: ev.tokens_out, ttft_ms: ev.ttft_ms, duration_ms: ev.duration_ms };
      return ev.turn;
    }
    case 'verdict':
      turnOf(state, ev.turn, ev.side).verdict = ev;
      return ev.turn;
    case 'probe':
      turnOf(state, ev.turn, ev.side).probe = ev;
      return ev.turn;
    case 'awaiting':
      state.awaiting = { turn: ev.turn, deadline: Date.parse(ev.deadline), seconds: ev.seconds };
      running(state);
      return null;
    case 'typing':
      if (!state.turns.has(ev.turn)) state.typing = { turn: ev.turn, at: Date.now() };
      return null;
    case 'match_completed':
      state.status = 'completed';
      state.metrics = ev.metrics ?? null;
      return null;
    case 'match_failed':
      state.status = 'failed';
      state.error = ev.error ?? 'unknown error';
      state.failedTurn = ev.turn ?? null;
      return null;
    case 'match_cancelled':
      state.status = 'cancelled';
      state.cancelReason = ev.reason ?? 'cancelled';
      return null;
    default:
      return null;
  }
}

/** The judged turns of `side` in plan order: its opening is phase 0, then each later one. */
function judgedTurns(state, side) {
  return (state.plan ?? []).filter((p) => p.side === side && p.judged !== false).map((p) => p.index);
}

/** Scored holding values per side, in turn order: [{turn, holding, x}], x the turn's phase. */
export function holdingSeries(state, side) {
  const phases = judgedTurns(state, side);
  return [...state.turns.values()]
    .filter((t) => t.side === side && t.verdict?.scored && typeof t.verdict.holding === 'number')
    .sort((a, b) => a.turn - b.turn)
    .map((t) => ({ turn: t.turn, holding: t.verdict.holding, x: Math.max(0, phases.indexOf(t.turn)) }));
}

const KIND_PHASE = { opening: 'Opening', closing: 'Closing' };
const KIND_SHORT = { opening: 'Open', closing: 'Close' };

/** The chart's phases from the plan: the judged turns of the side that opens.
 *  Debate: Opening, Rebuttal 1.., Closing; pressure: Opening, Round 1... */
export function phaseLabels(state) {
  const first = state.plan?.[0];
  if (!first) return { labels: [], short: [] };
  const turns = state.plan.filter((p) => p.side === first.side && p.judged !== false);
  const word = state.spec?.pressure ? 'Round' : 'Rebuttal';
  return {
    labels: turns.map((p) => KIND_PHASE[p.kind] ?? `${word} ${p.round}`),
    short: turns.map((p) => KIND_SHORT[p.kind] ?? `${word[0]}${p.round}`),
  };
}

/** A pressure (or calibration) match's target side, or null for a debate. */
export function targetSide(state) {
  return state.spec?.pressure?.target ?? null;
}
