// Persona page: who the persona is, its prompt, its numbers and its recent matches.
import { api, isAbort, personaNames } from './api.js';
import { errorBox, fmt, h, tableWrap } from './dom.js';
import { byVersionHref, ciCell } from './leaderboard.js';
import { calibrationSection } from './calibrationboard.js';
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
    h('a', { href: card('card-v3', true), download: '' }, 'Card V3 (PNG)'), ' · ',
    h('a', { href: card('charx', false), download: '', 'data-testid': 'persona-charx' }, 'CHARX'), ' · ',
    h('a', { href: card('card-v2', true), download: '' }, 'Card V2 (PNG)'), ' · ',
    h('a', { href: card('yaml', false), download: '' }, 'YAML'),
    data.persona?.lorebook ? [' · ', h('a', { href: `/api/personas/${encodeURIComponent(id)}/lorebook`, download: '',
      'data-testid': 'persona-lorebook-file' }, 'Lorebook')] : null,
    data.source === 'saved' ? h('span', { class: 'muted' }, ` · saved persona${data.forked_from ? `, forked from ${data.forked_from}` : ''}`) : null);
}

/** The persona's lorebook: each entry's name and keys; its text goes into the debater's
 *  context when a key comes up in the motion or the recent turns. */
function lorebookSection(book) {
  const entries = book?.entries ?? [];
  if (!entries.length) return null;
  const label = (e, i) => e.name || e.comment || e.keys?.find((k) => k.trim()) || `entry ${i + 1}`;
  return section('Lorebook', h('p', { class: 'muted' },
    `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}: inserted into this debater's context when their keys come up.`),
  h('ul', { class: 'lorebook', 'data-testid': 'persona-lorebook' }, entries.map((e, i) => h('li', {},
    h('strong', {}, label(e, i)),
    e.constant ? ' · always' : e.keys?.length ? [' · keys: ', h('code', {}, e.keys.filter((k) => k.trim()).join(', '))] : '',
    e.enabled === false ? ' · disabled' : ''))));
}

/** What the card brought: the creator's notes (in the reader's language when there), its assets. */
function cardSection(data) {
  const notes = data.creator_notes ?? {};
  const lang = (navigator.language || 'en').slice(0, 2).toLowerCase();
  const note = notes[lang] ?? notes.en ?? Object.values(notes)[0];
  const files = data.assets ?? [];
  if (!note && !files.length) return null;
  const size = (n) => n == null ? '' : ` · ${n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.ceil(n / 1e3)} kB`}`;
  return section('From the card',
    note ? h('details', {}, h('summary', {}, 'Creator\u2019s notes'), h('pre', { class: 'notes' }, note)) : null,
    files.length ? h('ul', { class: 'assets', 'data-testid': 'persona-assets' }, files.map((a) => h('li', {},
      a.url ? h('a', { href: a.url }, `${a.type} ${a.name}`) : `${a.type} ${a.name}`,
      ` · ${a.use}${size(a.bytes)}`))) : null);
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
  // the card's main icon; an image that fails to load (a format the browser lacks) is hidden
  const portrait = data.portrait ? h('img', { class: 'portrait', src: data.portrait, alt: `Portrait of ${p.name || id}`,
    'data-testid': 'persona-portrait', onerror: (e) => { e.target.hidden = true; } }) : null;
  root.append(
    personaActions(id, data),
    portrait,
    h('p', { class: 'lede' }, p.summary ?? ''),
    h('p', { class: 'muted meta' },
      `Default model ${p.model ?? '—'} · temperature ${p.temperature ?? '—'} · up to ${p.max_tokens ?? '—'} tokens per turn`),
    h('div', { class: 'persona-grid' },
      section('Beliefs', listOrText(p.beliefs)),
      section('Style', listOrText(p.style))),
    section('System prompt', h('details', { class: 'prompt' },
      h('summary', {}, 'Show the system prompt'), h('pre', {}, p.system_prompt ?? ''))),
    lorebookSection(p.lorebook),
    cardSection(data),
    section('Versions', versionList(data)),
    section('Position holding', statsTable(data.stats)),
    calibrationSection(signal, names, id),
    section('Recent matches', (data.recent_matches ?? []).length ? recent : h('p', { class: 'empty' }, 'No matches yet.')));
}
