// Persona page: who the persona is, its prompt, its numbers and its recent matches.
import { api, isAbort, personaNames } from './api.js';
import { errorBox, fmt, h, tableWrap } from './dom.js';
import { byVersionHref, ciCell } from './leaderboard.js';
import { renderMatchList } from './matchlist.js';

function listOrText(value) {
  if (Array.isArray(value)) return value.length ? h('ul', {}, value.map((v) => h('li', {}, String(v)))) : h('p', { class: 'muted' }, '—');
  if (value && typeof value === 'object') {
    return h('dl', {}, Object.entries(value).map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
  }
  return h('p', {}, value ? String(value) : '—');
}

function statsTable(rows) {
  if (!rows?.length) return h('p', { class: 'empty' }, 'No scored matches of its current version yet.');
  // as on the leaderboard: the current version's matches; the others are counted per version
  const older = rows.filter((r) => r.model == null).reduce((n, r) => n + (r.older_matches ?? 0), 0);
  return [olderNote(older, rows[0].persona), tableWrap('Position holding by model', h('table', { class: 'stats', 'data-testid': 'persona-stats' },
    h('thead', {}, h('tr', {}, ['Model', 'Matches', 'Turns', 'Mean holding', 'Flip rate', 'Engagement', 'Judge']
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {},
      h('th', { scope: 'row' }, r.model ?? 'All models'),
      h('td', { class: 'num' }, String(r.matches ?? '—')),
      h('td', { class: 'num' }, String(r.turns ?? '—')),
      h('td', {}, ciCell(r.mean_holding, r.holding_ci, 'mean holding')),
      h('td', {}, ciCell(r.flip_rate, r.flip_ci, 'flip rate')),
      h('td', { class: 'num' }, fmt(r.mean_engagement)),
      h('td', {}, `${r.judge ?? '—'} (${r.judge_calibration == null ? 'uncalibrated' : `accuracy ${r.judge_calibration}`})`))))))];
}

function olderNote(older, persona) {
  if (!older) return null;
  return h('p', { class: 'muted', 'data-testid': 'persona-older' },
    `Counts its current version only: ${older} match${older === 1 ? '' : 'es'} of older versions not counted, `,
    h('a', { href: byVersionHref(persona) }, 'see by version'), '.');
}

function versionList(data) {
  const versions = data.versions ?? [];
  if (!versions.length) {
    return h('p', { class: 'empty' }, data.version ? `Version ${data.version}; no match has played it yet.` : 'A draft has no version yet.');
  }
  return [h('ol', { class: 'versions', 'data-testid': 'persona-versions' }, versions.map((v) => h('li', {},
    h('code', {}, v.version), ` · ${new Date(v.at).toLocaleString()}`, v.current ? h('strong', {}, ' · current') : ''))),
  h('p', {}, h('a', { href: byVersionHref(data.persona?.id ?? ''), 'data-testid': 'persona-by-version' }, 'Leaderboard rows by version'))];
}

function personaActions(id, data) {
  const edit = `/personas/${encodeURIComponent(id)}/edit`;
  const card = (format, png) => `/api/personas/${encodeURIComponent(id)}/card?format=${format}${png ? '&png=true' : ''}`;
  return h('div', { class: 'persona-actions' },
    data.draft ? h('div', { class: 'form-error', 'data-testid': 'persona-draft' },
      h('p', {}, `A draft: it cannot play until ${data.problems.map((p) => p.field).join(', ')} ${data.problems.length > 1 ? 'are' : 'is'} filled in.`)) : null,
    h('a', { href: edit, class: 'button secondary', 'data-testid': 'persona-edit' }, data.editable ? 'Edit' : 'Fork and edit'),
    data.editable ? [' ', h('a', { href: `${edit}?fork=1`, class: 'button secondary', 'data-testid': 'persona-fork' }, 'Fork')] : null,
    ' ',
    h('a', { href: card('card-v3', false), download: '' }, 'Card V3 (JSON)'), ' · ',
    h('a', { href: card('card-v2', true), download: '' }, 'Card V2 (PNG)'), ' · ',
    h('a', { href: card('yaml', false), download: '' }, 'YAML'),
    data.source === 'saved' ? h('span', { class: 'muted' }, ` · saved persona${data.forked_from ? `, forked from ${data.forked_from}` : ''}`) : null);
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
    personaActions(id, data),
    h('p', { class: 'lede' }, p.summary ?? ''),
    h('p', { class: 'muted meta' },
      `Default model ${p.model ?? '—'} · temperature ${p.temperature ?? '—'} · up to ${p.max_tokens ?? '—'} tokens per turn`),
    h('div', { class: 'persona-grid' },
      section('Beliefs', listOrText(p.beliefs)),
      section('Style', listOrText(p.style))),
    section('System prompt', h('details', { class: 'prompt' },
      h('summary', {}, 'Show the system prompt'), h('pre', {}, p.system_prompt ?? ''))),
    section('Versions', versionList(data)),
    section('Position holding', statsTable(data.stats)),
    section('Recent matches', (data.recent_matches ?? []).length ? recent : h('p', { class: 'empty' }, 'No matches yet.')));
}
