// Home: live and recent matches (refreshed while any is running) and the start-a-match form.
import { api, isAbort, personaNames } from './api.js';
import { ACTIVE, errorBox, h } from './dom.js';
import { matchForm } from './matchform.js';
import { renderMatchList } from './matchlist.js';
import { runningTournaments } from './tournament.js';

const FAST_MS = 3000;
const SLOW_MS = 20000;

function matchesSection(signal) {
  const list = h('ul', { class: 'match-list', 'data-testid': 'matches' });
  const state = h('div', { class: 'list-state', 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading matches…'));
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show older matches');
  const section = h('section', { class: 'matches', 'aria-labelledby': 'matches-h' },
    h('h2', { id: 'matches-h' }, 'Live and recent matches'), state, list, more);

  let latest = [];
  let older = [];
  let cursor = null;
  let timer = null;

  async function load({ next = false } = {}) {
    clearTimeout(timer);
    let items = [...latest, ...older];
    try {
      const [page, names] = await Promise.all([
        api.matches({ limit: 20, cursor: next ? cursor : null }, signal), personaNames()]);
      const fresh = page?.items ?? [];
      if (next) older = [...older, ...fresh];
      else latest = fresh;
      // The first page is refreshed; pages fetched with "show older" keep their cursor.
      if (next || older.length === 0) cursor = page?.next_cursor ?? null;
      const seen = new Set(latest.map((m) => m.id));
      items = [...latest, ...older.filter((m) => !seen.has(m.id))];
      more.hidden = !cursor;
      renderMatchList(list, items, names);
      state.replaceChildren(items.length ? '' : h('p', { class: 'empty' }, 'No matches yet. Start one with the form.'));
    } catch (err) {
      if (isAbort(err)) return;
      state.replaceChildren(errorBox(`Could not load matches: ${err.message}`, () => load()));
    }
    if (!signal.aborted) timer = setTimeout(load, items.some((m) => ACTIVE.has(m.status)) ? FAST_MS : SLOW_MS);
  }

  more.addEventListener('click', () => load({ next: true }));
  signal.addEventListener('abort', () => clearTimeout(timer));
  load();
  return section;
}

export function renderHome(root, signal) {
  document.title = 'Persona Arena';
  root.append(
    h('div', { class: 'page-intro' },
      h('h1', { tabindex: '-1' }, 'Persona Arena'),
      h('p', { class: 'lede' }, 'Two language-model personas debate a motion. A judge scores every turn for how firmly each side holds its position.')),
    runningTournaments(signal),
    h('div', { class: 'home-grid' }, matchesSection(signal), matchForm(signal)));
}
