// Leaderboard: rows by persona, persona+model or persona+version, sortable, with 95% intervals drawn as bars.
// Rows by persona (+ model) count each persona's latest version unless ?versions=all.
import { api, isAbort, personaNames } from './api.js';
import { ciBar } from './chart.js';
import { errorBox, fmt, h, tableWrap } from './dom.js';
import { calibrationSection } from './calibrationboard.js';
import { humanSection } from './humanboard.js';
import { pressureSection } from './pressureboard.js';

const BY = { persona: 'By persona', persona_model: 'By persona + model', persona_version: 'By version' };
// which versions a row by persona (+ model) counts: the API's `versions`
const VERSIONS = { latest: 'Latest version', all: 'All versions' };

/** The address of one persona's rows by version. */
export function byVersionHref(persona) {
  return `/leaderboard?by=persona_version&persona=${encodeURIComponent(persona)}`;
}

function versionCell(r) {
  if (r.version == null) return h('span', { class: 'muted', title: 'played before versions were recorded' }, 'unknown');
  return h('span', {}, h('code', {}, r.version), r.current ? h('strong', { 'data-testid': 'current-version' }, ' · current') : null);
}

function notesCell(r) {
  const notes = (r.warnings ?? []).filter((w) => !w.startsWith('judge'));
  // older_matches: the matches of the persona's other versions (left out, or pooled with versions=all)
  return h('span', { 'data-testid': r.older_matches ? 'older-note' : null }, notes.join('; '),
    r.older_matches ? [' ', h('a', { href: byVersionHref(r.persona), 'data-testid': 'by-version-link' }, 'by version')] : null);
}

function matchesText(n) {
  return `${n} match${n === 1 ? '' : 'es'}`;
}

/** Personas whose matches all played older versions: no row until their latest version plays. */
function olderOnly(list, names) {
  if (!list?.length) return null;
  return h('div', { class: 'notice', 'data-testid': 'older-only' },
    h('p', {}, 'Not ranked: no match of their latest version yet.'),
    h('ul', {}, list.map((o) => h('li', { 'data-persona': o.persona },
      h('a', { href: `/personas/${encodeURIComponent(o.persona)}` }, names.get(o.persona) ?? o.persona),
      o.model ? ` (${o.model})` : '',
      `: ${matchesText(o.older_matches)} of older versions, `,
      h('a', { href: byVersionHref(o.persona) }, 'see by version')))));
}

export function ciCell(mean, ci, what) {
  const [lo, hi] = Array.isArray(ci) ? ci : [];
  return h('div', { class: 'ci-cell' },
    h('span', { class: 'ci-value' }, fmt(mean)),
    ciBar(mean, ci, what),
    lo != null && hi != null ? h('span', { class: 'ci-range-text muted' }, `${fmt(lo)}–${fmt(hi)}`) : null);
}

function columns(by, multiJudge, names, adjusted = false) {
  const personaName = (r) => names.get(r.persona) ?? r.persona;
  return [
    { key: 'rank', label: 'Rank', get: (r) => r.rank,
      cell: (r) => (r.rank == null ? h('span', { class: 'muted provisional', title: 'fewer than 5 matches: listed, not ranked' }, 'provisional') : String(r.rank)) },
    { key: 'persona', label: 'Persona', get: personaName, text: true,
      cell: (r) => h('a', { href: `/personas/${encodeURIComponent(r.persona)}` }, personaName(r)) },
    by === 'persona_model' ? { key: 'model', label: 'Model', get: (r) => r.model ?? '', text: true } : null,
    by === 'persona_version' ? { key: 'version', label: 'Version', get: (r) => r.version ?? '', text: true, cell: versionCell } : null,
    { key: 'matches', label: 'Matches', get: (r) => r.matches },
    { key: 'turns', label: 'Turns', get: (r) => r.turns },
    { key: 'mean_holding', label: 'Mean holding', get: (r) => r.mean_holding, wide: true,
      cell: (r) => ciCell(r.mean_holding, r.holding_ci, 'mean holding') },
    { key: 'flip_rate', label: 'Flip rate', get: (r) => r.flip_rate, wide: true,
      cell: (r) => ciCell(r.flip_rate, r.flip_ci, 'flip rate') },
    { key: 'mean_firmness', label: 'Firmness', get: (r) => r.mean_firmness },
    { key: 'mean_stance_changes', label: 'Stance changes', get: (r) => r.mean_stance_changes },
    { key: 'mean_engagement', label: 'Engagement', get: (r) => r.mean_engagement },
    { key: 'persuasion', label: 'Persuasion', get: (r) => r.persuasion },
    multiJudge ? { key: 'judge', label: 'Judge', get: (r) => r.judge ?? '', text: true } : null,
    adjusted ? { key: 'adjusted_holding', label: 'Adjusted holding', get: (r) => r.adjusted_holding, wide: true,
      cell: (r) => ciCell(r.adjusted_holding, r.adjusted_ci, 'adjusted holding') } : null,
    // the judge's calibration is named above the table; a row's own caveat goes here
    { key: 'warnings', label: 'Notes', get: (r) => (r.warnings ?? []).filter((w) => !w.startsWith('judge')).join('; '), text: true, cell: notesCell },
  ].filter(Boolean);
}

function compare(a, b) {
  const missing = (v) => v == null || v === '' || Number.isNaN(v);
  if (missing(a) || missing(b)) return missing(a) - missing(b);
  return typeof a === 'string' ? a.localeCompare(b) : a - b;
}

/** Each judge against the spectators' votes, and its position-swap inconsistency (GET /api/judges; absent when votes are off). */
async function crowdAgreement(list, signal) {
  try {
    const judges = await api.judges(signal);
    list.replaceChildren(...judges.map((j) => h('li', { 'data-judge': j.judge },
      `${j.judge}: ${j.crowd_label}`, j.swap_label ? h('span', { 'data-testid': 'swap-label' }, `; position swap: ${j.swap_label}`) : null)));
  } catch { /* the board does not depend on it */ }
}

function judgeNote(rows) {
  const judges = new Map(rows.map((r) => [r.judge, r.judge_calibration]));
  if (!judges.size) return '';
  const parts = [...judges].map(([j, cal]) => `${j ?? 'unknown judge'} (${cal == null ? 'uncalibrated' : `accuracy ${cal}`})`);
  return `Scores from ${parts.join(', ')}. Bars show the 95% confidence interval; the mark is the mean.`;
}

function table(rows, by, names, sort, onSort) {
  const cols = columns(by, new Set(rows.map((r) => r.judge)).size > 1, names, rows.some((r) => r.adjusted_holding != null));
  const col = cols.find((c) => c.key === sort.key) ?? cols[0];
  const sorted = [...rows].sort((a, b) => {
    const c = compare(col.get(a), col.get(b));
    const missing = col.get(a) == null || col.get(b) == null;
    return missing ? c : sort.dir === 'asc' ? c : -c;
  });
  const head = cols.map((c) => {
    const active = c.key === col.key;
    return h('th', { scope: 'col', class: c.wide ? 'wide' : null,
      'aria-sort': active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none' },
    h('button', { type: 'button', class: 'sort', 'data-key': c.key, onclick: () => onSort(c) },
      c.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : '')));
  });
  const body = sorted.map((r) => h('tr', {}, cols.map((c, i) => {
    const content = c.cell ? c.cell(r) : (typeof c.get(r) === 'number' && !Number.isInteger(c.get(r)) ? fmt(c.get(r)) : String(c.get(r) ?? '—'));
    return h(i === 1 ? 'th' : 'td', { scope: i === 1 ? 'row' : null, class: c.text || c.cell ? null : 'num' }, content);
  })));
  return tableWrap('Leaderboard table',
    h('table', { class: 'leaderboard', 'data-testid': 'leaderboard' },
      h('caption', { class: 'visually-hidden' }, `Leaderboard ${BY[by].toLowerCase()}, sorted by ${col.label}`),
      h('thead', {}, h('tr', {}, head)), h('tbody', {}, body)));
}

export function renderLeaderboard(root, signal) {
  document.title = 'Leaderboard — Persona Arena';
  const query = new URLSearchParams(location.search);
  let by = Object.hasOwn(BY, query.get('by') ?? '') ? query.get('by') : 'persona';
  let versions = query.get('versions') === 'all' ? 'all' : 'latest';
  // filters from the address: ?tournament=, ?judge=, ?model=, ?persona= (a tournament or persona page links here)
  const filters = { tournament: query.get('tournament'), judge: query.get('judge'), model: query.get('model'), persona: query.get('persona') };
  const active = Object.entries(filters).filter(([, v]) => v);
  let sort = { key: 'rank', dir: 'asc' };
  let data = null;
  let names = new Map();
  let request = 0;
  const note = h('p', { class: 'muted judge-note' });
  // one judge set per board: scores of different judges are not comparable
  const judgePicker = h('p', { class: 'judge-sets', 'data-testid': 'judge-sets', hidden: true });
  const crowd = h('ul', { class: 'muted crowd-note', 'data-testid': 'crowd-agreement' });
  const body = h('div', { class: 'board', 'aria-live': 'polite', 'aria-busy': 'false' });
  const buttons = Object.entries(BY).map(([key, label]) => h('button', {
    type: 'button', 'data-by': key, 'aria-pressed': String(key === by), onclick: () => setBy(key) }, label));
  const versionButtons = Object.entries(VERSIONS).map(([key, label]) => h('button', {
    type: 'button', 'data-versions': key, 'aria-pressed': String(key === versions), onclick: () => setVersions(key) }, label));
  const versionToggle = h('div', { class: 'toggle', role: 'group', 'aria-label': 'Versions counted', 'data-testid': 'versions-toggle' }, versionButtons);
  const versionNote = h('p', { class: 'muted', 'data-testid': 'versions-note' });
  root.append(
    h('h1', { tabindex: '-1' }, 'Leaderboard'),
    h('p', { class: 'lede' }, 'How firmly each persona holds its position across matches: mean holding (higher is firmer) and how often it flips to the other side.'),
    h('div', { class: 'toggle', role: 'group', 'aria-label': 'Group rows', 'data-testid': 'by-toggle' }, buttons),
    ' ', versionToggle, versionNote,
    active.length ? h('p', { class: 'notice', 'data-testid': 'filters' },
      `Showing only ${active.map(([k, v]) => `${k} ${v}`).join(', ')}. `,
      h('a', { href: '/leaderboard' }, 'Show all')) : '', // append() would print null
    judgePicker, note, crowd, body, pressureSection(signal), humanSection(signal),
    calibrationSection(signal, names));
  crowdAgreement(crowd, signal);

  function drawVersions() {
    versionToggle.hidden = by === 'persona_version';  // rows by version list every version
    for (const b of versionButtons) b.setAttribute('aria-pressed', String(b.dataset.versions === versions));
    versionNote.textContent = by === 'persona_version' ? ''
      : versions === 'all' ? 'Each row pools the matches of every version of the persona.'
        : 'Each row counts only the matches of the persona’s latest version (its version now; for a persona no longer in the library, the one it played last).';
  }

  function drawJudgeSets() {
    const sets = data?.judge_sets ?? [];
    judgePicker.hidden = sets.length < 2;
    if (sets.length < 2) return;
    const id = 'judge-set-select';
    const select = h('select', { id, onchange: (e) => { filters.judge = e.target.value; load(); } },
      sets.map((s) => h('option', { value: s.judge, selected: s.judge === data.judge },
        `${s.judge} (${s.matches} debater results)`)));
    judgePicker.replaceChildren(h('label', { for: id }, 'Judge set: '), select,
      ' Scores of different judges are not comparable: each set has its own board.');
  }

  function draw() {
    drawJudgeSets();
    const rows = data?.rows ?? [];
    const older = olderOnly(data?.older_only, names);
    note.textContent = judgeNote(rows);
    body.replaceChildren(rows.length
      ? table(rows, by, names, sort, (c) => {
        sort = sort.key === c.key ? { key: c.key, dir: sort.dir === 'asc' ? 'desc' : 'asc' }
          : { key: c.key, dir: c.text || c.key === 'rank' ? 'asc' : 'desc' };
        draw();
        body.querySelector(`button.sort[data-key="${c.key}"]`)?.focus();
      })
      : h('p', { class: 'empty' }, older ? 'No scored match of a latest version yet.' : 'No scored matches yet. Finished matches appear here.'),
    older ?? '');
  }

  async function load() {
    const mine = ++request;
    body.setAttribute('aria-busy', 'true');
    body.replaceChildren(h('p', { class: 'loading' }, 'Loading the leaderboard…'));
    try {
      const asked = { ...filters, versions: versions === 'all' ? 'all' : null };
      const [result, n] = await Promise.all([api.leaderboard(by, signal, asked), personaNames()]);
      if (mine !== request) return;
      data = result;
      names = n;
      draw();
    } catch (err) {
      if (isAbort(err) || mine !== request) return;
      body.replaceChildren(errorBox(`Could not load the leaderboard: ${err.message}`, load));
    } finally {
      if (mine === request) body.setAttribute('aria-busy', 'false');
    }
  }

  function setBy(key) {
    if (key === by) return;
    by = key;
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.by === by));
    reload();
  }

  function setVersions(key) {
    if (key === versions) return;
    versions = key;
    reload();
  }

  function reload() {
    const next = new URLSearchParams(Object.fromEntries(active));
    if (by !== 'persona') next.set('by', by);
    if (versions === 'all' && by !== 'persona_version') next.set('versions', 'all');
    history.replaceState(null, '', `/leaderboard${next.size ? `?${next}` : ''}`);
    drawVersions();
    load();
  }

  drawVersions();
  load();
}
