// Persona page: who the persona is, its prompt, its numbers and its recent matches.
import { api, isAbort, personaNames } from './api.js';
import { errorBox, fmt, h } from './dom.js';
import { ciCell } from './leaderboard.js';
import { renderMatchList } from './matchlist.js';

function listOrText(value) {
  if (Array.isArray(value)) return value.length ? h('ul', {}, value.map((v) => h('li', {}, String(v)))) : h('p', { class: 'muted' }, '—');
  if (value && typeof value === 'object') {
    return h('dl', {}, Object.entries(value).map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
  }
  return h('p', {}, value ? String(value) : '—');
}

function statsTable(rows) {
  if (!rows?.length) return h('p', { class: 'empty' }, 'No scored matches yet.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'stats', 'data-testid': 'persona-stats' },
    h('thead', {}, h('tr', {}, ['Model', 'Matches', 'Turns', 'Mean holding', 'Flip rate', 'Engagement', 'Judge']
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {},
      h('th', { scope: 'row' }, r.model ?? 'All models'),
      h('td', { class: 'num' }, String(r.matches ?? '—')),
      h('td', { class: 'num' }, String(r.turns ?? '—')),
      h('td', {}, ciCell(r.mean_holding, r.holding_ci, 'mean holding')),
      h('td', {}, ciCell(r.flip_rate, r.flip_ci, 'flip rate')),
      h('td', { class: 'num' }, fmt(r.mean_engagement)),
      h('td', {}, `${r.judge ?? '—'} (${r.judge_accuracy == null ? 'uncalibrated' : `accuracy ${fmt(r.judge_accuracy)}`})`))))));
}

function section(title, ...content) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...content);
}

export async function renderPersona(root, signal, id) {
  document.title = 'Persona — Persona Arena';
  const title = h('h1', { tabindex: '-1' }, 'Loading persona…');
  root.append(title);
  let data;
  try {
    data = await api.persona(id, signal);
  } catch (err) {
    if (isAbort(err)) return;
    if (err.status === 404) {
      title.textContent = 'Persona not found';
      root.append(h('p', {}, `There is no persona “${id}”. `, h('a', { href: '/leaderboard' }, 'See the leaderboard'), '.'));
    } else {
      title.textContent = 'Persona';
      root.append(errorBox(`Could not load the persona: ${err.message}`, () => {
        root.replaceChildren();
        renderPersona(root, signal, id);
      }));
    }
    return;
  }
  const p = data?.persona ?? {};
  const names = await personaNames();
  if (signal.aborted) return;
  title.textContent = p.name || id;
  document.title = `${p.name || id} — Persona Arena`;
  const recent = h('ul', { class: 'match-list' });
  renderMatchList(recent, data.recent_matches ?? [], names);
  root.append(
    h('p', { class: 'lede' }, p.summary ?? ''),
    h('p', { class: 'muted meta' },
      `Default model ${p.model ?? '—'} · temperature ${p.temperature ?? '—'} · up to ${p.max_tokens ?? '—'} tokens per turn`),
    h('div', { class: 'persona-grid' },
      section('Beliefs', listOrText(p.beliefs)),
      section('Style', listOrText(p.style))),
    section('System prompt', h('details', { class: 'prompt' },
      h('summary', {}, 'Show the system prompt'), h('pre', {}, p.system_prompt ?? ''))),
    section('Position holding', statsTable(data.stats)),
    section('Recent matches', (data.recent_matches ?? []).length ? recent : h('p', { class: 'empty' }, 'No matches yet.')));
}
