// Tiny DOM helpers. Server text only ever reaches the page as text nodes or attribute values.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value == null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

// A table's box scrolls sideways on a narrow screen. While it does, it is a named region that a
// keyboard can focus, and so scroll; while it does not, it is no stop on the way.
const scrollers = new ResizeObserver((entries) => {
  for (const { target } of entries) {
    if (!target.isConnected) {
      scrollers.unobserve(target); // removed (a redraw): its size fell to nothing
      continue;
    }
    const scrolls = target.scrollWidth > target.clientWidth + 1;
    for (const [name, value] of [['tabindex', '0'], ['role', 'region'], ['aria-label', target.dataset.label]]) {
      if (scrolls) target.setAttribute(name, value);
      else target.removeAttribute(name);
    }
  }
});

/** A table in its sideways-scrolling box; `label` names it for screen readers while it scrolls. */
export function tableWrap(label, ...children) {
  const el = h('div', { class: 'table-wrap', 'data-label': label }, ...children);
  scrollers.observe(el);
  return el;
}

/** Client-side navigation; app.js listens for popstate and re-routes. */
export function navigate(url) {
  history.pushState(null, '', url);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function fmt(value, digits = 2) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '—';
}

export function pct(value) {
  return typeof value === 'number' && Number.isFinite(value) ? `${Math.round(value * 100)}%` : '—';
}

/** Hue on a red (0) to green (120) scale; CSS turns --h into chip colours. */
export function setHolding(el, holding) {
  if (typeof holding === 'number') el.style.setProperty('--h', String(Math.round(holding * 120)));
  else el.style.removeProperty('--h');
  el.classList.toggle('unscored', typeof holding !== 'number');
  return el;
}

export function timeAgo(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const sec = Math.round((Date.now() - t) / 1000);
  if (sec < 45) return 'just now';
  if (sec < 3600) return `${Math.round(sec / 60)} min ago`;
  if (sec < 86400) return `${Math.round(sec / 3600)} h ago`;
  return new Date(t).toLocaleDateString();
}

export const SIDE_LABEL = { pro: 'PRO', con: 'CON' };
export const ACTIVE = new Set(['queued', 'running']);

export function statusBadge(status) {
  return h('span', { class: `badge status-${status}`, text: status });
}

export function errorBox(message, onRetry) {
  return h('div', { class: 'error-box', role: 'alert' },
    h('p', { text: message }),
    onRetry ? h('button', { type: 'button', class: 'secondary', onclick: onRetry }, 'Retry') : null);
}
