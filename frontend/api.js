// Fetch helpers for the HTTP API in docs/contract.md. Every failure becomes an ApiError.
import { authHeaders, forgetToken, requestToken, storedToken } from './token.js';

export class ApiError extends Error {
  /** fields: [{path: "pro.persona", msg}] from a 422 response's detail[].loc / msg. */
  constructor(status, message, fields = []) {
    super(message);
    this.status = status;
    this.fields = fields;
  }
}

const LOC_ROOTS = new Set(['body', 'query', 'path']);

export function fieldPath(loc) {
  const parts = Array.isArray(loc) ? [...loc] : [];
  if (LOC_ROOTS.has(parts[0])) parts.shift();
  return parts.join('.');
}

function toError(res, data) {
  const detail = data && typeof data === 'object' ? data.detail : undefined;
  if (res.status === 422 && Array.isArray(detail)) {
    const fields = detail.map((d) => ({ path: fieldPath(d?.loc), msg: String(d?.msg ?? 'invalid') }));
    const text = fields.map((f) => (f.path ? `${f.path}: ${f.msg}` : f.msg)).join('; ');
    return new ApiError(422, text || 'The request was rejected.', fields);
  }
  if (res.status === 429) {
    const wait = res.headers.get('Retry-After');
    const what = typeof detail === 'string' && detail ? detail[0].toUpperCase() + detail.slice(1) : 'Too many requests';
    return new ApiError(429, `${what}; try again in ${wait ?? 'a few'} seconds.`);
  }
  const reason = typeof detail === 'string' ? detail : res.statusText || 'request failed';
  return new ApiError(res.status, `${reason} (HTTP ${res.status})`);
}

async function request(method, path, body, signal, auth = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      signal,
      // a FormData body (a file upload) sets its own multipart content type
      headers: body === undefined || body instanceof FormData ? { accept: 'application/json', ...auth }
        : { accept: 'application/json', 'content-type': 'application/json', ...auth },
      body: body === undefined || body instanceof FormData ? body : JSON.stringify(body),
    });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError(0, 'The server did not answer. Check the connection and retry.');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!res.ok) throw toError(res, data);
  return data;
}

/** A write: sends the stored token; on 401 asks for one (again, if the sent one was refused). */
export async function write(method, path, body) {
  for (;;) {
    const sent = storedToken();
    try {
      return await request(method, path, body, undefined, authHeaders());
    } catch (err) {
      if (err.status !== 401) throw err;
      const refused = Boolean(sent) && storedToken() === sent;
      if (refused) forgetToken();
      // another write may have stored a new token meanwhile: retry with it before asking
      if (!refused && storedToken()) continue;
      if (!(await requestToken(refused))) {
        throw new ApiError(401, 'This server needs its API token to start or cancel matches, and none was given.');
      }
    }
  }
}

const enc = encodeURIComponent;

export const api = {
  personas: (signal) => request('GET', '/api/personas', undefined, signal),
  persona: (id, signal) => request('GET', `/api/personas/${enc(id)}`, undefined, signal),
  motions: (signal) => request('GET', '/api/motions', undefined, signal),
  tactics: (signal) => request('GET', '/api/tactics', undefined, signal),
  models: (signal) => request('GET', '/api/models', undefined, signal),
  matches: (params, signal) => {
    const q = new URLSearchParams(Object.entries(params ?? {}).filter(([, v]) => v != null));
    const qs = q.toString();
    return request('GET', `/api/matches${qs ? `?${qs}` : ''}`, undefined, signal);
  },
  match: (id, signal) => request('GET', `/api/matches/${enc(id)}`, undefined, signal),
  createMatch: (body) => write('POST', '/api/matches', body),
  cancelMatch: (id) => write('POST', `/api/matches/${enc(id)}/cancel`, {}),
  createPersona: (body) => write('POST', '/api/personas', body),
  editPersona: (id, body) => write('PUT', `/api/personas/${enc(id)}`, body),
  forkPersona: (id, body) => write('POST', `/api/personas/${enc(id)}/fork`, body),
  importPersonas: (form) => write('POST', '/api/personas/import', form),
  readLorebook: (book, filename) => write('POST', `/api/lorebooks/read?filename=${enc(filename)}`, book),
  leaderboard: (by, signal, filters = {}) => {
    const q = new URLSearchParams({ by, ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)) });
    return request('GET', `/api/leaderboard?${q}`, undefined, signal);
  },
  pressureLeaderboard: (signal) => request('GET', '/api/leaderboard/pressure', undefined, signal),
  calibrationLeaderboard: (signal) => request('GET', '/api/leaderboard/calibration', undefined, signal),
  claims: (signal) => request('GET', '/api/claims', undefined, signal),
  tournaments: (signal) => request('GET', '/api/tournaments', undefined, signal),
  tournament: (id, signal) => request('GET', `/api/tournaments/${enc(id)}`, undefined, signal),
  createTournament: (body) => write('POST', '/api/tournaments', body),
  cancelTournament: (id) => write('POST', `/api/tournaments/${enc(id)}/cancel`, {}),
  // votes are public (a signed cookie tells spectators apart): no token is sent or asked for
  matchVotes: (id, signal) => request('GET', `/api/matches/${enc(id)}/votes`, undefined, signal),
  castVote: (id, turn, label) => request('POST', `/api/matches/${enc(id)}/turns/${turn}/votes`, { label }),
  judges: (signal) => request('GET', '/api/judges', undefined, signal),
  humanLeaderboard: (signal) => request('GET', '/api/leaderboard/human', undefined, signal),
  // the human challenger's seat: its token, not the API token, lets it write
  seat: (id, token, signal) => request('GET', `/api/matches/${enc(id)}/challenger`, undefined, signal, seatHeader(token)),
  sendSeatTurn: (id, token, body) => request('POST', `/api/matches/${enc(id)}/challenger/turns`, body, undefined, seatHeader(token)),
  seatTyping: (id, token) => request('POST', `/api/matches/${enc(id)}/challenger/typing`, {}, undefined, seatHeader(token)),
};

function seatHeader(token) {
  return token ? { 'X-Seat-Token': token } : {};
}

let namesPromise = null;

/** Persona id -> display name; an empty map if personas cannot be loaded (ids are shown instead).
 * Shared by the parts of one page and kept until the next navigation (forgetPersonaNames), so a
 * persona created meanwhile, in another tab or by someone else, is named on the next page. */
export function personaNames() {
  namesPromise ??= api.personas()
    .then((list) => new Map((list ?? []).map((p) => [p.id, p.name || p.id])))
    .catch(() => {
      namesPromise = null;
      return new Map();
    });
  return namesPromise;
}

export function forgetPersonaNames() {
  namesPromise = null;
}

export function isAbort(err) {
  return err?.name === 'AbortError';
}
