// The API token for writes (ARENA_API_TOKEN on the server). Asked for when a write answers 401,
// kept in sessionStorage (this tab, until it closes or the user forgets it), sent on every write.
import { h } from './dom.js';

const KEY = 'arena.apiToken';
let memory = null; // used when sessionStorage is unavailable (privacy modes, sandboxed frames)
let pending = null;

export function storedToken() {
  try {
    return sessionStorage.getItem(KEY) ?? memory;
  } catch {
    return memory;
  }
}

function store(token) {
  memory = token;
  try {
    if (token == null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, token);
  } catch {
    // keep it in memory only
  }
  syncControl();
}

/** Headers that authorise a write, if a token is stored. */
export function authHeaders() {
  const token = storedToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

export function forgetToken() {
  store(null);
}

function dialog(rejected) {
  // a header value: printable ASCII, no spaces (anything else could not be sent at all)
  const input = h('input', { id: 'api-token', type: 'password', required: true, autocomplete: 'current-password',
    spellcheck: 'false', pattern: '[!-~]+', title: 'The token, without spaces.',
    'data-testid': 'token-input', 'aria-describedby': 'api-token-hint' });
  const error = h('p', { class: 'field-error', id: 'api-token-err', role: 'alert', 'data-testid': 'token-error',
    hidden: !rejected }, 'That token was not accepted. Check it and try again.');
  if (rejected) input.setAttribute('aria-describedby', 'api-token-hint api-token-err');
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const el = h('dialog', { class: 'token-dialog', 'aria-labelledby': 'token-h', 'data-testid': 'token-dialog' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'token-h' }, 'API token needed'),
      h('p', { id: 'api-token-hint' }, 'This server asks for its API token (ARENA_API_TOKEN) to start or cancel matches. ',
        'It is kept in this browser tab until you close it or choose “Forget token”.'),
      h('div', { class: 'field' }, h('label', { for: 'api-token' }, 'API token'), input, error),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', 'data-testid': 'token-submit' }, 'Use token'), cancel)));
  return { el, input, cancel };
}

/** Ask for the token in a modal dialog; resolves to it, or null if the user cancels. */
function ask(rejected) {
  const { el, input, cancel } = dialog(rejected);
  const opener = document.activeElement;
  document.body.append(el);
  return new Promise((resolve) => {
    let value = null;
    el.querySelector('form').addEventListener('submit', () => { value = input.value.trim() || null; });
    cancel.addEventListener('click', () => el.close());
    el.addEventListener('close', () => {
      el.remove();
      opener?.focus?.({ preventScroll: true });
      resolve(value);
    });
    el.showModal();
    input.focus();
  });
}

/** One dialog at a time: writes that fail together wait for the same answer. */
export function requestToken(rejected) {
  pending ??= ask(rejected).then((token) => {
    pending = null;
    if (token) store(token);
    return token;
  });
  return pending;
}

// The "Forget token" control in the site header, shown while a token is stored.
function syncControl() {
  const note = document.querySelector('[data-testid="token-note"]');
  if (!note) return;
  const button = note.querySelector('button');
  const text = note.querySelector('.token-text');
  const has = Boolean(storedToken());
  if (has) {
    note.hidden = false;
    button.hidden = false;
    text.textContent = 'API token saved for this tab.';
  } else if (!note.hidden) {
    button.hidden = true;
    text.textContent = 'API token forgotten.';
  }
}

function setupControl() {
  const note = document.querySelector('[data-testid="token-note"]');
  if (!note) return;
  note.querySelector('button').addEventListener('click', () => {
    forgetToken();
    note.querySelector('.token-text').focus();
  });
  syncControl();
}

setupControl();
