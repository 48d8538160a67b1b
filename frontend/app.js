// Router: one shell page, routes on location.pathname, in-app links use history.pushState.
import { forgetPersonaNames } from './api.js';
import { h } from './dom.js';
import { renderEditor } from './editor.js';
import { renderHome } from './home.js';
import { renderLeaderboard } from './leaderboard.js';
import { renderMatch } from './match.js';
import { renderPersona } from './persona.js';
import { renderSeat } from './seat.js';
import { renderTournament } from './tournament.js';

const routes = [
  { re: /^\/$/, nav: 'home', page: renderHome },
  { re: /^\/matches\/([^/]+)\/?$/, nav: 'home', page: renderMatch },
  { re: /^\/matches\/([^/]+)\/seat\/?$/, nav: 'home', page: renderSeat },
  { re: /^\/leaderboard\/?$/, nav: 'leaderboard', page: renderLeaderboard },
  { re: /^\/tournaments\/([^/]+)\/?$/, nav: null, page: renderTournament },
  { re: /^\/personas\/new\/?$/, nav: 'persona-new', page: renderEditor },
  { re: /^\/personas\/([^/]+)\/edit\/?$/, nav: null, page: renderEditor },
  { re: /^\/personas\/([^/]+)\/?$/, nav: null, page: renderPersona },
];

let current = null;

function notFound(root) {
  document.title = 'Not found — Persona Arena';
  root.append(
    h('h1', { tabindex: '-1' }, 'Page not found'),
    h('p', {}, 'Nothing lives at this address. ', h('a', { href: '/' }, 'See the matches'), '.'),
  );
}

function route({ focus }) {
  current?.abort();
  current = new AbortController();
  forgetPersonaNames(); // each page reads them afresh
  const root = document.getElementById('app');
  root.replaceChildren();
  const path = location.pathname;
  const match = routes.map((r) => ({ r, m: path.match(r.re) })).find((x) => x.m);
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (match && link.dataset.nav === match.r.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (!match) notFound(root);
  else {
    const params = match.m.slice(1).map((p) => decodeURIComponent(p));
    Promise.resolve(match.r.page(root, current.signal, ...params)).catch((err) => {
      if (err?.name !== 'AbortError') console.error(err);
    });
  }
  if (focus) {
    // Move focus to the new page so keyboard and screen-reader users start at its top.
    const heading = root.querySelector('h1');
    (heading ?? root).focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
}

function onClick(event) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest?.('a[href]');
  if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
  if (a.hash && a.pathname === location.pathname && a.search === location.search) return;
  if (a.pathname.startsWith('/api/') || a.pathname.startsWith('/static/')) return;
  event.preventDefault();
  if (a.pathname + a.search === location.pathname + location.search) return;
  history.pushState(null, '', a.pathname + a.search);
  route({ focus: true });
}

document.addEventListener('click', onClick);
window.addEventListener('popstate', () => route({ focus: true }));
route({ focus: false });
