// The start-a-match form. Server 422 errors are shown next to the field their loc names.
import { api, isAbort } from './api.js';
import { errorBox, h, navigate } from './dom.js';
import { formatControls } from './pressureform.js';

const CUSTOM = '__custom__';
const MODEL_RE = /^([A-Za-z0-9_.-]+):(\S.*)$/;
let uid = 0;

/** Registry of form fields by API path ("pro.persona", "judges.1") for placing errors. */
class Fields {
  constructor() {
    this.byKey = new Map();
    this.entries = new Set();
  }

  /** Point keys at entry (a picker moves its errors to the free-text input when that is in use). */
  route(keys, entry) {
    for (const key of keys) this.byKey.set(key, entry);
  }

  wrap(keys, label, control, hint) {
    control.id ||= `f${++uid}`;
    const hintEl = hint == null ? null : h('p', { class: 'hint', id: `${control.id}-hint` }, hint);
    const err = h('p', { class: 'field-error', id: `${control.id}-err`, hidden: true });
    const el = h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl, err);
    const entry = { control, err, hintEl, el };
    this.entries.add(entry);
    this.route(keys, entry);
    this.describe(entry);
    return entry;
  }

  describe({ control, err, hintEl }) {
    const ids = [hintEl?.id, err.hidden ? null : err.id].filter(Boolean);
    if (ids.length) control.setAttribute('aria-describedby', ids.join(' '));
    else control.removeAttribute('aria-describedby');
  }

  /** Show msg next to the field for path (or its closest known parent); false if none fits. */
  show(path, msg) {
    const parts = path.split('.');
    while (parts.length && !this.byKey.has(parts.join('.'))) parts.pop();
    const entry = this.byKey.get(parts.join('.'));
    if (!entry || entry.el.hidden) return null;
    entry.err.textContent = entry.err.hidden ? msg : `${entry.err.textContent} ${msg}`;
    entry.err.hidden = false;
    entry.control.setAttribute('aria-invalid', 'true');
    this.describe(entry);
    return entry;
  }

  clear() {
    for (const entry of this.entries) {
      entry.err.hidden = true;
      entry.err.textContent = '';
      entry.control.removeAttribute('aria-invalid');
      this.describe(entry);
    }
  }
}

const option = (value, label, selected) => h('option', { value, selected: selected || null }, label);

function modelPicker(fields, { keys, label, models, value, optional, testid }) {
  const suggestions = [...new Set([models.default_model, ...(models.suggestions ?? [])].filter(Boolean))];
  const select = h('select', { 'data-testid': testid },
    optional ? option('', 'None', !value) : null,
    suggestions.map((m) => option(m, m === models.default_model ? `${m} (embedded)` : m, m === value)),
    option(CUSTOM, 'Other provider:model…'));
  const providers = models.providers ?? [];
  const input = h('input', { type: 'text', placeholder: 'provider:model', autocomplete: 'off',
    spellcheck: 'false', 'data-testid': `${testid}-custom` });
  const main = fields.wrap(keys, label, select);
  const custom = fields.wrap([], `${label} (provider:model)`, input,
    `Available providers: ${providers.join(', ') || 'none'}.`);
  const check = () => {
    const m = MODEL_RE.exec(input.value.trim());
    let msg = '';
    if (!m) msg = 'Write it as provider:model, for example local:smollm2.';
    else if (!providers.includes(m[1])) msg = `Provider “${m[1]}” is not available here; use ${providers.join(', ')}.`;
    input.setCustomValidity(select.value === CUSTOM ? msg : '');
  };
  const sync = () => {
    custom.el.hidden = select.value !== CUSTOM;
    input.required = select.value === CUSTOM;
    fields.route(keys, custom.el.hidden ? main : custom);
    check();
  };
  select.addEventListener('change', sync);
  input.addEventListener('input', check);
  sync();
  return {
    el: h('div', { class: 'model-picker' }, main.el, custom.el),
    value: () => (select.value === CUSTOM ? input.value.trim() : select.value),
  };
}

function personaField(fields, side, personas, index) {
  const select = h('select', { 'data-testid': `${side}-persona`, required: true },
    personas.map((p, i) => option(p.id, p.name || p.id, i === index)));
  const entry = fields.wrap([`${side}.persona`, side], side === 'pro' ? 'PRO persona (for)' : 'CON persona (against)', select, '');
  const show = () => {
    entry.hintEl.textContent = personas.find((p) => p.id === select.value)?.summary ?? '';
  };
  select.addEventListener('change', show);
  show();
  return { el: entry.el, select };
}

function motionField(fields, motions) {
  const select = h('select', { 'data-testid': 'motion' },
    motions.map((m) => option(m.id, m.text)), option(CUSTOM, 'Write your own motion…'));
  const text = h('textarea', { rows: 2, maxlength: 400, 'data-testid': 'motion-text',
    placeholder: 'This house believes that…' });
  const main = fields.wrap(['motion'], 'Motion', select);
  const custom = fields.wrap([], 'Your motion', text);
  const sync = () => {
    custom.el.hidden = select.value !== CUSTOM;
    text.required = select.value === CUSTOM;
    fields.route(['motion'], custom.el.hidden ? main : custom);
  };
  select.addEventListener('change', sync);
  if (!motions.length) select.value = CUSTOM;
  sync();
  return {
    el: h('div', {}, main.el, custom.el),
    value: () => (select.value === CUSTOM ? text.value.trim() : select.value),
  };
}

function build(section, { personas, motions, models, tactics }) {
  const fields = new Fields();
  const formError = h('div', { class: 'form-error', role: 'alert', tabindex: '-1' });
  const pro = personaField(fields, 'pro', personas, 0);
  const con = personaField(fields, 'con', personas, Math.min(1, personas.length - 1));
  const motion = motionField(fields, motions);
  const rounds = h('input', { type: 'number', min: 1, max: 10, step: 1, value: 2, required: true,
    inputmode: 'numeric', 'data-testid': 'rounds' });
  const model = (side, label) => modelPicker(fields, {
    keys: [`${side}.model`], label, models, value: models.default_model, testid: `${side}-model` });
  const proModel = model('pro', 'PRO model');
  const conModel = model('con', 'CON model');
  const judges = [0, 1, 2].map((i) => modelPicker(fields, {
    keys: i === 0 ? ['judges.0', 'judge', 'judges'] : [`judges.${i}`],
    label: ['Judge', 'Second judge', 'Third judge'][i], models, optional: i > 0,
    value: i === 0 ? models.default_judge ?? models.default_model : '', testid: `judge-${i + 1}` }));
  const wordLimit = h('input', { type: 'number', min: 20, max: 1000, placeholder: '120', inputmode: 'numeric' });
  const seed = h('input', { type: 'number', step: 1, inputmode: 'numeric' });
  const more = h('details', { class: 'more' }, h('summary', {}, 'Panel of judges, word limit, seed'),
    judges[1].el, judges[2].el,
    fields.wrap(['word_limit'], 'Word limit per turn', wordLimit).el,
    fields.wrap(['seed'], 'Seed (optional)', seed).el);
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'start' }, 'Start debate');
  const formatCtl = formatControls(fields, tactics,
    { pro: { persona: pro, model: proModel }, con: { persona: con, model: conModel } }, submit);

  const form = h('form', { class: 'match-form', 'data-testid': 'match-form' },
    formatCtl.el,
    h('div', { class: 'pair' }, pro.el, con.el),
    motion.el,
    h('div', { class: 'pair' }, proModel.el, conModel.el),
    h('div', { class: 'pair' }, fields.wrap(['rounds'], 'Rounds', rounds, '1 to 10 rebuttal rounds').el, judges[0].el),
    more, formError, submit);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    fields.clear();
    formError.replaceChildren();
    if (!form.reportValidity()) return;
    const panel = judges.map((j) => j.value()).filter(Boolean);
    const body = formatCtl.toBody({
      motion: motion.value(),
      pro: { persona: pro.select.value, model: proModel.value() || null },
      con: { persona: con.select.value, model: conModel.value() || null },
      rounds: Number(rounds.value),
      ...(panel.length > 1 ? { judges: panel } : { judge: panel[0] ?? null }),
      ...(wordLimit.value ? { word_limit: Number(wordLimit.value) } : {}),
      ...(seed.value !== '' ? { seed: Number(seed.value) } : {}),
    });
    submit.disabled = true;
    submit.textContent = 'Starting…';
    try {
      const created = await api.createMatch(body);
      // a human challenger goes to the seat; its link carries the seat token, shown only now
      navigate(created?.seat_url ?? created?.url ?? `/matches/${encodeURIComponent(created.id)}`);
    } catch (err) {
      submit.disabled = false;
      submit.textContent = formatCtl.label();
      showErrors(err, fields, formError, more);
    }
  });
  section.replaceChildren(section.firstChild, form);
}

function showErrors(err, fields, formError, more) {
  const unplaced = [];
  let first = null;
  for (const f of err.fields ?? []) {
    const entry = fields.show(f.path, f.msg);
    if (!entry) unplaced.push(f.path ? `${f.path}: ${f.msg}` : f.msg);
    else {
      if (more.contains(entry.el)) more.open = true;
      first ??= entry.control;
    }
  }
  if (!err.fields?.length) unplaced.push(err.message);
  formError.replaceChildren(...unplaced.map((m) => h('p', {}, m)));
  (first ?? formError).focus?.();
}

export function matchForm(signal) {
  const section = h('section', { class: 'card start', 'aria-labelledby': 'start-h' },
    h('h2', { id: 'start-h' }, 'Start a match'), h('p', { class: 'loading' }, 'Loading personas and models…'));
  const load = async () => {
    try {
      const [personas, motions, models, tactics] = await Promise.all([
        api.personas(signal), api.motions(signal), api.models(signal),
        api.tactics(signal).catch((err) => { if (isAbort(err)) throw err; return []; })]);
      if (!personas?.length) {
        section.replaceChildren(section.firstChild, h('p', { class: 'empty' }, 'No personas are available, so no match can start.'));
        return;
      }
      build(section, { personas, motions: motions ?? [], models: models ?? {}, tactics: tactics ?? [] });
    } catch (err) {
      if (isAbort(err)) return;
      section.replaceChildren(section.firstChild, errorBox(`Could not load the form: ${err.message}`, load));
    }
  };
  load();
  return section;
}
