// The match page's render state, built only from events so a replay yields the same state.
const FINAL = new Set(['completed', 'failed', 'cancelled']);

export function newState(summary) {
  return {
    spec: summary?.spec ?? null,
    summary: summary ?? null,
    status: summary?.status ?? 'queued',
    totalTurns: summary?.total_turns ?? null,
    turns: new Map(),
    metrics: null,
    error: summary?.error ?? null,
    failedTurn: null,
    cancelReason: null,
  };
}

function turnOf(state, n, side) {
  let turn = state.turns.get(n);
  if (!turn) {
    // A page opened mid-turn after a resume may see tokens first; the plan puts PRO on even turns.
    turn = { turn: n, side: side ?? (n % 2 === 0 ? 'pro' : 'con'), kind: null, persona: null,
      model: null, text: '', done: false, stats: null, verdict: null, restarted: null };
    state.turns.set(n, turn);
  }
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
      running(state);
      return null;
    case 'turn_started': {
      const t = turnOf(state, ev.turn, ev.side);
      Object.assign(t, { side: ev.side, kind: ev.kind, persona: ev.persona, model: ev.model });
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

/** Scored holding values per side, in turn order: [{turn, holding}]. */
export function holdingSeries(state, side) {
  return [...state.turns.values()]
    .filter((t) => t.side === side && t.verdict?.scored && typeof t.verdict.holding === 'number')
    .sort((a, b) => a.turn - b.turn)
    .map((t) => ({ turn: t.turn, holding: t.verdict.holding }));
}
