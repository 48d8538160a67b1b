// WebSocket client for /ws/matches/{id}: replays stored events, then live ones, and resumes
// with ?after=<last id> after a drop so no text is duplicated or missed.

export const TERMINAL = new Set(['match_completed', 'match_failed', 'match_cancelled']);
const CLOSE_FELL_BEHIND = 4000;
const CLOSE_UNKNOWN_MATCH = 4404;
const MAX_DELAY_MS = 10_000;

/** Compare Redis stream ids "ms-seq" numerically by both parts. */
export function compareIds(a, b) {
  const [am, as = 0] = String(a).split('-').map(Number);
  const [bm, bs = 0] = String(b).split('-').map(Number);
  return am - bm || as - bs;
}

/**
 * Open the match's event stream. onEvent(event) gets each new event once, in order;
 * onConnection(state, info) gets 'open' | 'reconnecting' (info = delay ms) | 'closed' | 'not_found'.
 * Returns {close()}.
 */
export function openLive(matchId, { onEvent, onConnection = () => {} }) {
  const stats = { lastEventId: null, events: 0 };
  let ws = null;
  let timer = null;
  let stopped = false;
  let terminal = false;
  let failures = 0;

  function url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const after = stats.lastEventId ? `?after=${encodeURIComponent(stats.lastEventId)}` : '';
    return `${proto}//${location.host}/ws/matches/${encodeURIComponent(matchId)}${after}`;
  }

  function receive(message) {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (!event || typeof event !== 'object' || typeof event.type !== 'string') return;
    if (event.id != null) {
      if (stats.lastEventId != null && compareIds(event.id, stats.lastEventId) <= 0) return;
      stats.lastEventId = String(event.id);
    }
    stats.events += 1;
    failures = 0;
    if (TERMINAL.has(event.type)) terminal = true;
    onEvent(event);
  }

  function closed(event) {
    ws = null;
    if (stopped) return;
    if (event.code === CLOSE_UNKNOWN_MATCH) {
      stopped = true;
      onConnection('not_found');
    } else if (terminal) {
      stopped = true;
      onConnection('closed');
    } else {
      // 4000 (fell behind), a server restart or a network drop: resume after the last id seen.
      const base = event.code === CLOSE_FELL_BEHIND ? 100 : 500;
      const delay = Math.min(MAX_DELAY_MS, base * 2 ** failures) * (0.75 + Math.random() / 2);
      failures += 1;
      onConnection('reconnecting', delay);
      timer = setTimeout(connect, delay);
    }
  }

  function connect() {
    timer = null;
    if (stopped) return;
    ws = new WebSocket(url());
    ws.addEventListener('open', () => onConnection('open'));
    ws.addEventListener('message', receive);
    ws.addEventListener('close', closed);
  }

  connect();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
    },
  };
}
