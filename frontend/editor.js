// Persona editor: create a persona, edit a saved one, fork a file one (an edit of a file persona
// is saved as a fork), or import Character Cards / Modelfiles by drag and drop. The server checks
// the fields as it checks persona files; its 422s are shown next to the fields they name.
import { api, isAbort } from './api.js';
import { h, navigate } from './dom.js';

const FIELDS = [
  { key: 'name', label: 'Name', hint: 'Shown in lists, up to 80 characters.' },
  { key: 'id', label: 'Id', hint: 'A lowercase slug; left empty, it is made from the name.' },
  { key: 'summary', label: 'Summary', hint: 'One line for lists, up to 300 characters.' },
  { key: 'system_prompt', label: 'System prompt', hint: 'Who the persona is: the message the model gets (at least 20 characters).', area: 10 },
  { key: 'beliefs', label: 'Beliefs', hint: 'Core convictions, one per line.', area: 4 },
  { key: 'style', label: 'Style', hint: 'How it speaks.' },
  { key: 'model', label: 'Default model', hint: 'Optional, provider:model.' },
  { key: 'temperature', label: 'Temperature', hint: 'Optional, 0 to 2.', type: 'number' },
  { key: 'max_tokens', label: 'Max tokens per turn', hint: 'Optional, 16 to 4096.', type: 'number' },
];

function control(f) {
  const attrs = { id: `pe-${f.key}`, name: f.key, 'data-testid': `pe-${f.key}`, 'aria-describedby': `pe-${f.key}-hint` };
  if (f.area) return h('textarea', { ...attrs, rows: f.area });
  return h('input', { ...attrs, type: f.type === 'number' ? 'number' : 'text', step: f.key === 'temperature' ? '0.05' : null });
}

function buildForm() {
  const controls = {};
  const errors = {};
  const rows = FIELDS.map((f) => {
    const c = control(f);
    const err = h('p', { class: 'field-error', id: `pe-${f.key}-err`, 'data-testid': `pe-${f.key}-error`, hidden: true });
    controls[f.key] = c;
    errors[f.key] = err;
    return h('div', { class: 'field' }, h('label', { for: c.id }, f.label), c,
      h('p', { class: 'hint', id: `pe-${f.key}-hint` }, f.hint), err);
  });
  return { rows, controls, errors };
}

/** The persona's lorebook: attach one from a file (lorebook_v3, a card's character_book or
 *  SillyTavern world info; the server reads it), or remove it. Saved with the persona. */
function lorebookField(initial) {
  let book = initial ?? null;
  const status = h('p', { 'data-testid': 'pe-lorebook-status', role: 'status' });
  const notes = h('ul', { class: 'muted', 'data-testid': 'pe-lorebook-notes' });
  const error = h('p', { class: 'field-error', 'data-testid': 'pe-lorebook-error', hidden: true });
  const input = h('input', { type: 'file', id: 'pe-lorebook', accept: '.json,application/json', 'data-testid': 'pe-lorebook-input' });
  const remove = h('button', { type: 'button', class: 'secondary', 'data-testid': 'pe-lorebook-remove' }, 'Remove the lorebook');
  const show = () => {
    const n = book?.entries?.length ?? 0;
    status.textContent = book ? `${book.name ? `“${book.name}”: ` : ''}${n} entr${n === 1 ? 'y' : 'ies'}, inserted into the debater's context when their keys come up.`
      : 'No lorebook.';
    remove.hidden = !book;
  };
  remove.addEventListener('click', () => { book = null; notes.replaceChildren(); show(); });
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    error.hidden = true;
    try {
      let value;
      try { value = JSON.parse(await file.text()); } catch { throw new Error(`${file.name}: not valid JSON`); }
      const read = await api.readLorebook(value, file.name);
      book = read.lorebook;
      notes.replaceChildren(...read.notes.map((n) => h('li', {}, n)));
      show();
    } catch (err) {
      error.textContent = err.fields?.length ? err.fields.map((f) => f.msg).join('; ') : err.message;
      error.hidden = false;
    }
  });
  show();
  const row = h('div', { class: 'field', 'data-testid': 'pe-lorebook' }, h('label', { for: 'pe-lorebook' }, 'Lorebook'),
    status, h('div', { class: 'actions' }, input, remove), notes, error,
    h('p', { class: 'hint' }, 'A lorebook file (lorebook_v3 JSON, or SillyTavern world info): background knowledge the debater gets when its keys come up.'));
  return { row, value: () => book };
}

function fill(controls, persona) {
  for (const f of FIELDS) {
    const v = persona?.[f.key];
    controls[f.key].value = v == null ? '' : Array.isArray(v) ? v.join('\n') : String(v);
  }
}

function read(controls) {
  const body = {};
  for (const f of FIELDS) {
    const raw = controls[f.key].value;
    if (f.key === 'beliefs') body.beliefs = raw.split('\n').map((s) => s.trim()).filter(Boolean);
    else if (f.type === 'number') { if (raw.trim() !== '') body[f.key] = Number(raw); }
    else if (raw.trim() !== '' || ['name', 'summary', 'system_prompt', 'style'].includes(f.key)) body[f.key] = raw;
  }
  return body;
}

function showErrors(form, err, general) {
  for (const [key, el] of Object.entries(form.errors)) {
    el.hidden = true;
    el.textContent = '';
    form.controls[key].removeAttribute('aria-invalid');
    form.controls[key].setAttribute('aria-describedby', `pe-${key}-hint`);
  }
  general.hidden = true;
  if (!err) return;
  const rest = [];
  for (const { path, msg } of err.fields ?? []) {
    const key = path.split('.')[0];
    const el = form.errors[key];
    if (!el) { rest.push(path ? `${path}: ${msg}` : msg); continue; }
    el.textContent = el.textContent ? `${el.textContent}; ${msg}` : msg;
    el.hidden = false;
    form.controls[key].setAttribute('aria-invalid', 'true');
    form.controls[key].setAttribute('aria-describedby', `pe-${key}-hint pe-${key}-err`);
  }
  if (!err.fields?.length) rest.push(err.message);
  if (rest.length) {
    general.textContent = rest.join('; ');
    general.hidden = false;
  }
  const first = Object.values(form.controls).find((c) => c.getAttribute('aria-invalid'));
  (first ?? general).focus?.();
}

function dropZone(onFiles) {
  const input = h('input', { type: 'file', id: 'pe-import', multiple: true, 'data-testid': 'pe-import-input',
    accept: '.json,.png,.charx,.yaml,.yml,.modelfile,Modelfile,application/json,image/png' });
  const zone = h('div', { class: 'drop-zone', 'data-testid': 'pe-drop' },
    h('p', {}, 'Drop Character Cards (V1/V2/V3 JSON, PNG or CHARX), persona YAML or an Ollama Modelfile here, or '),
    h('label', { for: 'pe-import', class: 'button secondary' }, 'choose files'), input);
  input.addEventListener('change', () => { if (input.files?.length) onFiles([...input.files]); input.value = ''; });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer?.files?.length) onFiles([...e.dataTransfer.files]);
  });
  return zone;
}

function importSection() {
  const result = h('div', { class: 'import-result', 'data-testid': 'pe-import-result', role: 'status' });
  const onFiles = async (files) => {
    const form = new FormData();
    for (const f of files) form.append('file', f, f.name);
    result.replaceChildren(h('p', {}, `Importing ${files.length} file${files.length > 1 ? 's' : ''}…`));
    try {
      const { imported } = await api.importPersonas(form);
      result.replaceChildren(h('ul', {}, imported.map((i) => h('li', {},
        h('a', { href: i.draft ? `/personas/${encodeURIComponent(i.id)}/edit` : i.url }, i.id),
        ` from ${i.filename}`, i.draft ? ' — a draft: fill in ' + i.problems.map((p) => p.field).join(', ') : '',
        i.notes.length ? h('ul', {}, i.notes.map((n) => h('li', { class: 'muted' }, n))) : null))));
      if (imported.length === 1 && imported[0].draft) navigate(`/personas/${encodeURIComponent(imported[0].id)}/edit`);
    } catch (err) {
      const lines = err.fields?.length ? err.fields.map((f) => f.msg) : [err.message];
      result.replaceChildren(h('div', { class: 'form-error', role: 'alert', 'data-testid': 'pe-import-error' },
        lines.map((l) => h('p', {}, l)), h('p', {}, 'Nothing was imported.')));
    }
  };
  return h('section', { class: 'card' }, h('h2', {}, 'Import'), dropZone(onFiles), result);
}

/** /personas/new (create), /personas/:id/edit (edit a saved one; a file one, or any with ?fork, is
 * forked). */
export async function renderEditor(root, signal, id) {
  const creating = id == null;
  document.title = `${creating ? 'New persona' : 'Edit persona'} — Persona Arena`;
  const title = h('h1', { tabindex: '-1' }, creating ? 'New persona' : 'Edit persona');
  root.append(title);
  let detail = null;
  if (!creating) {
    try {
      detail = await api.persona(id, signal);
    } catch (err) {
      if (isAbort(err)) return;
      root.append(h('div', { class: 'form-error', role: 'alert' }, h('p', {}, `Could not load persona “${id}”: ${err.message}`)));
      return;
    }
  }
  const forking = detail != null && (!detail.editable || new URLSearchParams(location.search).has('fork'));
  const form = buildForm();
  fill(form.controls, detail?.persona ?? {});
  const lorebook = lorebookField(detail?.persona?.lorebook);
  if (!creating) form.controls.id.readOnly = !forking;
  if (forking) {
    title.textContent = `Fork ${detail.persona.name ?? id}`;
    form.controls.id.value = '';
    form.errors.id.previousElementSibling.textContent = 'A new id for the fork; left empty, one is made from the original’s.';
  }
  const general = h('div', { class: 'form-error', role: 'alert', 'data-testid': 'pe-error', hidden: true, tabindex: '-1' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'pe-save' },
    creating ? 'Create persona' : forking ? 'Save as a fork' : 'Save');
  const note = forking
    ? h('p', { class: 'muted' }, detail.editable ? 'Saving makes a copy; the original stays as it is.'
      : 'This persona comes from a file and is read-only: saving makes a copy you can change.')
    : detail?.draft ? h('p', { class: 'muted', 'data-testid': 'pe-draft-note' },
      `A draft: fill in ${detail.problems.map((p) => p.field).join(', ')} before it can play.`) : null;
  const el = h('form', { class: 'card persona-editor', novalidate: true, 'data-testid': 'persona-editor' },
    note, general, form.rows, lorebook.row, h('div', { class: 'actions' }, submit));
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const body = read(form.controls);
    if (lorebook.value()) body.lorebook = lorebook.value();
    try {
      let saved;
      if (creating) saved = await api.createPersona(body);
      else if (forking) saved = await api.forkPersona(id, body);
      else saved = await api.editPersona(id, body);
      navigate(saved.url);
    } catch (err) {
      showErrors(form, err, general);
    } finally {
      submit.disabled = false;
    }
  });
  if (detail?.draft) showErrors(form, { fields: detail.problems.map((p) => ({ path: p.field, msg: p.msg })) }, general);
  root.append(el);
  if (creating) root.append(importSection());
}
