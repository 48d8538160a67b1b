// Tournament page: live progress, its matches (live ones linked), the adjusted leaderboard with
// interval bars, the persona x opponent heatmap, and the downloads; a pressure tournament adds its
// pressure leaderboard (persona x tactic), drawn as on the leaderboard page. Refreshed while it runs.
import { api, isAbort, personaNames } from './api.js';
import { ciBar } from './chart.js';
import { ACTIVE, errorBox, fmt, h, navigate, statusBadge, tableWrap } from './dom.js';
import { calibrationTable, scatter } from './calibrationboard.js';
import { judgesSection, styleNote } from './judgepanel.js';
import { heatmap as pressureHeatmap, rowsTable as pressureRows } from './pressureboard.js';

const REFRESH_MS = 2000;

function progressSection(t) {
  const p = t.progress;
  const eta = p.eta_seconds != null ? `, about ${Math.round(p.eta_seconds)} s left` : '';
  return h('section', { class: 'tournament-progress', 'aria-labelledby': 'progress-h' },
    h('h2', { id: 'progress-h' }, 'Progress'),
    h('progress', { max: String(p.total), value: String(p.done), 'aria-label': 'matches done' }),
    h('p', { 'data-testid': 'progress' },
      `${p.done} / ${p.total} matches done`,
      ` · running ${p.running} · queued ${p.queued} · failed ${p.failed}`,
      ` · ${p.tokens.toLocaleString()} tokens${eta}`),
    t.error ? h('p', { class: 'notice' }, t.error) : null);
}

function leaderboardSection(t, names) {
  const board = t.leaderboard;
  const firmer = new Map(board.held_firmer.map((r) => [r.persona, r]));
  const control = new Map(board.control.map((r) => [r.persona, r]));
  const style = new Map((board.style?.ratings ?? []).map((r) => [r.persona, r]));
  const name = (p) => names.get(p) ?? p;
  const rows = board.adjusted.map((r) => {
    const f = firmer.get(r.persona);
    const c = control.get(r.persona);
    const st = style.get(r.persona);
    return h('tr', {},
      h('td', { class: 'num' }, String(r.rank)),
      h('th', { scope: 'row' }, h('a', { href: `/personas/${encodeURIComponent(r.persona)}` }, name(r.persona))),
      h('td', { class: 'num' }, String(r.matches)),
      h('td', {}, h('div', { class: 'ci-cell' },
        h('span', { class: 'ci-value' }, fmt(r.estimate)),
        ciBar(r.estimate, r.ci, 'adjusted holding'),
        h('span', { class: 'ci-range-text muted' }, `${fmt(r.ci[0])}–${fmt(r.ci[1])}`))),
      h('td', { class: 'num' }, fmt(r.raw)),
      board.style ? h('td', { class: 'num', 'data-testid': 'style-cell' },
        st ? `#${st.rank} · ${fmt(st.estimate)} (${fmt(st.ci[0])}–${fmt(st.ci[1])})` : '—') : null,
      h('td', { class: 'num' }, f ? `${fmt(f.estimate, 0)} (${fmt(f.ci[0], 0)}–${fmt(f.ci[1], 0)})` : '—'),
      board.control.length ? h('td', { class: 'num' }, c ? `${fmt(c.estimate)} (${fmt(c.ci[0])}–${fmt(c.ci[1])})` : '—') : null);
  });
  const calibration = Object.entries(t.judge_calibration)
    .map(([j, label]) => `${j}: ${label ?? 'uncalibrated'}`).join('; ');
  return h('section', { 'aria-labelledby': 'board-h' },
    h('h2', { id: 'board-h' }, 'Adjusted leaderboard'),
    h('p', { class: 'muted' }, `Judge ${calibration}. Adjusted holding is the expected holding against an average opponent on an average motion; bars show its 95% interval (bootstrap over matches). Style-controlled is the same at the average length and hedging, with its own rank. Held firmer is a Bradley-Terry rating: ${board.held_firmer_scale || 'Elo scale'}. Rows whose intervals overlap share a rank.`),
    t.warnings.length ? h('ul', { class: 'warnings', 'data-testid': 'warnings' }, t.warnings.map((w) => h('li', {}, w))) : null,
    rows.length
      ? tableWrap('Adjusted ratings table', h('table', { class: 'leaderboard', 'data-testid': 'tournament-board' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Rank'), h('th', { scope: 'col' }, 'Persona'), h('th', { scope: 'col' }, 'Matches'),
          h('th', { scope: 'col', class: 'wide' }, 'Adjusted holding'), h('th', { scope: 'col' }, 'Raw mean'),
          board.style ? h('th', { scope: 'col' }, 'Style-controlled (rank)') : null,
          h('th', { scope: 'col' }, 'Held firmer (Elo)'),
          board.control.length ? h('th', { scope: 'col' }, `vs ${t.spec.control}`) : null)),
        h('tbody', {}, rows)))
      : h('p', { class: 'empty' }, 'No completed matches yet.'),
    rows.length ? styleNote(board) : null);
}

/** A pressure tournament's leaderboard: persona x tactic, as GET /api/tournaments/{id} ranks it. */
function pressureSection(t, names) {
  if (t.spec.format !== 'pressure') return null;
  return h('section', { 'aria-labelledby': 'pressure-h', 'data-testid': 'tournament-pressure' },
    h('h2', { id: 'pressure-h' }, 'Under pressure, persona × tactic'),
    h('p', { class: 'muted' }, 'Turn of Flip (ToF, SYCON-Bench) counts the target\'s responses, from its opening, that hold its side '
      + 'before one does not; a match counts as flipped when a response was not aligned (neutral and unscored count as not). '
      + 'Flip rates show their Wilson 95% interval; '
      + 'rows are ranked by its upper bound, lowest first.'),
    t.pressure.length
      ? [pressureHeatmap(t.pressure, names), pressureRows(t.pressure, names)]
      : h('p', { class: 'empty' }, 'No pressure match has finished yet.'));
}

function calibrationSection(t, names) {
  if (t.spec.format !== 'calibration') return null;
  const rows = t.calibration ?? [];
  return h('section', { 'aria-labelledby': 'calibration-h', 'data-testid': 'tournament-calibration' },
    h('h2', { id: 'calibration-h' }, 'Firm and open'),
    h('p', { class: 'muted' }, 'Resistance to pressure (1 − the regressive flip rate: a true start given up under pressure) '
      + 'across, openness to evidence (the progressive flip rate: a false start given up when shown the evidence) up; '
      + 'crosses are Wilson 95% intervals. The top-right corner is firm and open.'),
    rows.length
      ? [scatter(rows, names), calibrationTable(rows, names)]
      : h('p', { class: 'empty' }, 'No calibration match has finished yet.'));
}

function heatmapSection(t, names) {
  const cells = t.heatmap;
  const opponents = [...new Set(Object.values(cells).flatMap((r) => Object.keys(r)))].sort();
  // a debate's grid is square (personas meet personas); a pressure one is persona x tactic
  const pressure = t.spec.format !== 'debate';
  const rows = pressure ? Object.keys(cells).sort() : [...new Set([...Object.keys(cells), ...opponents])].sort();
  const cols = pressure ? opponents : rows;
  if (!rows.length) return null;
  const name = (p) => names.get(p) ?? p;
  const versus = pressure ? 'tactic' : 'opponent';
  return h('section', { 'aria-labelledby': 'heat-h' },
    h('h2', { id: 'heat-h' }, `Holding, persona × ${versus}`),
    tableWrap(`Holding by persona and ${versus}`, h('table', { class: 'heatmap', 'data-testid': 'heatmap' },
      h('caption', { class: 'muted' }, `Mean holding of the row persona against the column ${versus}`),
      h('thead', {}, h('tr', {}, h('td', {}), cols.map((o) => h('th', { scope: 'col' }, pressure ? o : name(o))))),
      h('tbody', {}, rows.map((p) => h('tr', {}, h('th', { scope: 'row' }, name(p)),
        cols.map((o) => {
          const v = cells[p]?.[o];
          const cell = h('td', { class: 'num heat' }, v == null ? '' : fmt(v));
          if (v != null) cell.style.setProperty('--h', String(Math.round(v * 120))); // style.css colours it
          return cell;
        })))))));
}

function matchesSection(t, names) {
  const name = (p) => names.get(p) ?? p;
  return h('section', { 'aria-labelledby': 'tm-h' },
    h('h2', { id: 'tm-h' }, `Matches (${t.matches.length} scheduled of ${t.progress.total})`),
    h('ul', { class: 'match-list', 'data-testid': 'tournament-matches' }, t.matches.map((m) => h('li', {},
      m.match ? h('a', { href: `/matches/${encodeURIComponent(m.match)}` }, `${name(m.pro)} vs ${name(m.con)}`)
        : `${name(m.pro)} vs ${name(m.con)}`,
      ` · ${m.motion} `,
      m.status ? statusBadge(m.status) : h('span', { class: 'muted' }, 'not scheduled'),
      m.pro_holding != null ? h('span', { class: 'muted' }, ` ${fmt(m.pro_holding)} / ${fmt(m.con_holding)}`) : null))));
}

export function renderTournament(root, signal, id) {
  document.title = 'Tournament — Persona Arena';
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading the tournament…'));
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Cancel tournament');
  const base = `/api/tournaments/${encodeURIComponent(id)}/export`;
  root.append(
    h('h1', { tabindex: '-1' }, `Tournament ${id}`),
    h('p', { class: 'downloads' }, 'Download: ',
      h('a', { href: `${base}?format=csv`, download: '' }, 'turns.csv'), ' · ',
      h('a', { href: `${base}?format=jsonl`, download: '' }, 'matches.jsonl'), ' · ',
      h('a', { href: `/leaderboard?tournament=${encodeURIComponent(id)}` }, 'its rows on the leaderboard'), ' ', cancel),
    body);
  let timer = null;
  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try { await api.cancelTournament(id); } catch (err) { body.prepend(errorBox(err.message)); }
    load();
  });

  async function load() {
    clearTimeout(timer);
    try {
      const [t, names] = await Promise.all([api.tournament(id, signal), personaNames()]);
      const s = t.spec;
      const shape = s.format === 'pressure' ? `pressure · ${s.tactics.length} tactics`
        : s.format === 'calibration' ? `calibration · ${s.tactics.length} tactics · ${s.claims.length} claims` : s.design;
      cancel.hidden = t.status !== 'running';
      // a section with nothing to show is null: replaceChildren() would print it as "null"
      body.replaceChildren(...[
        h('p', { class: 'lede' }, statusBadge(t.status), ` ${shape} · ${s.personas.length} personas${s.motions.length ? ` · ${s.motions.length} motions` : ''} · judge ${t.judge}`),
        progressSection(t), pressureSection(t, names), calibrationSection(t, names), leaderboardSection(t, names),
        heatmapSection(t, names), judgesSection(t), matchesSection(t, names)].filter(Boolean));
      if (!signal.aborted && (t.status === 'running' || t.matches.some((m) => ACTIVE.has(m.status)))) {
        timer = setTimeout(load, REFRESH_MS);
      }
    } catch (err) {
      if (isAbort(err)) return;
      body.replaceChildren(errorBox(`Could not load the tournament: ${err.message}`, load));
    }
  }
  signal.addEventListener('abort', () => clearTimeout(timer));
  load();
}

function checkboxes(name, items, label) {
  return h('fieldset', {}, h('legend', {}, label),
    items.map((it) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name, value: it.id }), ` ${it.label} `)));
}

/** A small form that starts a tournament (the API takes more options; see the README). */
function tournamentForm(signal) {
  const status = h('p', { role: 'status', class: 'muted' });
  const form = h('form', { class: 'tournament-form', 'data-testid': 'tournament-form' }, h('p', { class: 'loading' }, 'Loading personas…'));
  Promise.all([api.personas(signal), api.motions(signal)]).then(([personas, motions]) => {
    form.replaceChildren(
      checkboxes('persona', personas.map((p) => ({ id: p.id, label: p.name || p.id })), 'Personas (two or more)'),
      checkboxes('motion', motions.map((m) => ({ id: m.id, label: m.id })), 'Motions'),
      h('label', {}, 'Design ', h('select', { name: 'design' },
        ['round-robin', 'gauntlet', 'swiss'].map((d) => h('option', { value: d }, d)))),
      h('label', {}, ' Rebuttal rounds ', h('input', { type: 'number', name: 'rounds', min: '1', max: '10', value: '1' })),
      h('label', {}, ' Model (optional) ', h('input', { type: 'text', name: 'model', placeholder: 'provider:model' })),
      h('button', { type: 'submit' }, 'Start tournament'), status);
  }).catch((err) => { if (!isAbort(err)) form.replaceChildren(errorBox(`Could not load personas: ${err.message}`)); });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = { personas: data.getAll('persona'), motions: data.getAll('motion'), design: data.get('design'),
      rounds: Number(data.get('rounds') || 1) };
    if (data.get('model')) body.model = data.get('model');
    status.textContent = 'Starting…';
    try {
      const created = await api.createTournament(body);
      navigate(created.url);
    } catch (err) {
      status.textContent = err.message;
    }
  });
  return h('details', {}, h('summary', {}, 'Start a tournament'), form);
}

/** Running tournaments and the start-a-tournament form, for the home page. */
export function runningTournaments(signal) {
  const section = h('section', { class: 'tournaments', 'aria-labelledby': 'tournaments-h' },
    h('h2', { id: 'tournaments-h' }, 'Tournaments'), tournamentForm(signal));
  api.tournaments(signal).then((list) => {
    const running = (list ?? []).filter((t) => t.status === 'running');
    if (!running.length) return;
    section.insertBefore(h('ul', { 'data-testid': 'running-tournaments' }, running.map((t) => h('li', {},
      h('a', { href: t.url }, `Running: ${t.design}, ${t.personas.join(', ')}`),
      ` · ${t.progress.done} / ${t.progress.total} matches`))), section.children[1]);
  }).catch((err) => { if (!isAbort(err)) console.warn('tournaments:', err); });
  return section;
}
