// A list of MatchSummary cards, keyed by match id and updated in place (focus survives refreshes).
import { fmt, h, setHolding, timeAgo } from './dom.js';

function side(cls) {
  return h('span', { class: `mi-side ${cls}` },
    h('span', { class: `side-tag ${cls}` }, cls.toUpperCase()),
    h('span', { class: 'mi-persona' }),
    h('span', { class: 'holding-chip' }));
}

function create(id) {
  return h('li', { class: 'match-item', 'data-id': id },
    h('div', { class: 'mi-top' },
      h('span', { class: 'badge' }), h('span', { class: 'muted mi-progress' }), h('span', { class: 'muted mi-time' })),
    h('a', { class: 'mi-motion', href: `/matches/${encodeURIComponent(id)}` }),
    h('div', { class: 'mi-sides' }, side('pro'), side('con')));
}

function fill(li, m, names) {
  const badge = li.querySelector('.badge');
  badge.className = `badge status-${m.status}`;
  badge.textContent = m.status;
  li.dataset.status = m.status;
  li.querySelector('.mi-progress').textContent = `${m.turns_done ?? 0}/${m.total_turns ?? '?'} turns`;
  const time = li.querySelector('.mi-time');
  time.textContent = timeAgo(m.created_at);
  time.title = m.created_at ?? '';
  li.querySelector('.mi-motion').textContent = m.motion ?? '(no motion)';
  for (const s of ['pro', 'con']) {
    const el = li.querySelector(`.mi-side.${s}`);
    const persona = m[s]?.persona;
    el.querySelector('.mi-persona').textContent = names.get(persona) ?? persona ?? '—';
    el.title = m[s]?.model ?? '';
    const holding = m.holding?.[s];
    const chip = el.querySelector('.holding-chip');
    chip.textContent = fmt(holding);
    chip.setAttribute('aria-label', `holding ${fmt(holding)}`);
    setHolding(chip, holding);
  }
}

/** Render items into ul; existing cards are reused, order follows items. */
export function renderMatchList(ul, items, names) {
  const old = new Map([...ul.children].map((li) => [li.dataset.id, li]));
  const lis = items.map((m) => {
    const li = old.get(m.id) ?? create(m.id);
    fill(li, m, names);
    return li;
  });
  lis.forEach((li, i) => {
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] ?? null);
  });
  while (ul.children.length > lis.length) ul.lastElementChild.remove();
}
