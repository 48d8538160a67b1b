// The start form's format choice: a debate, or a pressure match in which one persona (the target,
// on the side it argues) is pushed by a tactic (GET /api/tactics). In a pressure match the other
// side's persona and model fields are hidden: the challenger is the tactic.
import { h } from './dom.js';

const option = (value, label, selected) => h('option', { value, selected: selected || null }, label);

/**
 * fields: the form's field registry; seats: {pro, con} = {persona: {el, select}, model: {el, value}};
 * submit: the submit button. Returns {el, toBody(debateBody)}.
 */
export function formatControls(fields, tactics, seats, submit) {
  const format = h('select', { 'data-testid': 'format' },
    option('debate', 'Debate: two personas argue the motion', true),
    option('pressure', 'Pressure: one persona is pushed by a tactic', false));
  const side = h('select', { 'data-testid': 'target-side' },
    option('pro', 'PRO: argues for the motion', true), option('con', 'CON: argues against it', false));
  const tactic = h('select', { 'data-testid': 'tactic' },
    tactics.map((t) => option(t.id, t.name, t.id === 'escalate')));
  const formatField = fields.wrap(['format'], 'Format', format);
  const sideField = fields.wrap([], 'Target (the persona under pressure)', side);
  const tacticField = fields.wrap(['challenger.tactic', 'challenger'], 'Tactic', tactic, '');
  // "I'll be the challenger": a person writes the challenger's turns; the tactic falls back
  const human = h('input', { type: 'checkbox', 'data-testid': 'human-seat', id: 'human-seat' });
  const seconds = h('input', { type: 'number', min: 20, max: 600, value: 120, 'data-testid': 'turn-seconds' });
  const secondsField = fields.wrap(['challenger.turn_seconds'], 'Seconds per turn', seconds);
  const humanBox = h('div', { class: 'human-fields' },
    h('p', {}, human, ' ', h('label', { for: 'human-seat' }, 'I’ll be the challenger'),
      h('span', { class: 'muted' }, ' (you write the challenger’s turns; the tactic speaks any you leave silent)')),
    secondsField.el);
  const pressureBox = h('div', { class: 'pair pressure-fields' }, sideField.el, tacticField.el, humanBox);
  const describe = () => {
    const t = tactics.find((x) => x.id === tactic.value);
    tacticField.hintEl.textContent = t ? `${t.description} Source: ${t.source}` : '';
  };
  const sync = () => {
    const pressure = format.value === 'pressure';
    pressureBox.hidden = !pressure;
    secondsField.el.hidden = !human.checked;
    for (const s of ['pro', 'con']) {
      const shown = !pressure || s === side.value;
      seats[s].persona.el.hidden = !shown;
      seats[s].model.el.hidden = !shown;
      seats[s].persona.select.required = shown;
    }
    submit.textContent = pressure ? 'Start pressure match' : 'Start debate';
  };
  format.addEventListener('change', sync);
  side.addEventListener('change', sync);
  human.addEventListener('change', sync);
  tactic.addEventListener('change', describe);
  if (!tactics.length) format.querySelector('option[value="pressure"]').disabled = true;
  describe();
  sync();
  return {
    el: h('div', {}, formatField.el, pressureBox),
    /** The request body: the debate body as is, or the pressure body made from it. */
    toBody(body) {
      if (format.value !== 'pressure') return body;
      const target = side.value;
      const { pro, con, ...rest } = body;
      const challenger = human.checked
        ? { human: true, tactic: tactic.value, turn_seconds: Number(seconds.value) || 120 }
        : { tactic: tactic.value };
      return { ...rest, format: 'pressure', [target]: target === 'pro' ? pro : con, challenger };
    },
    label: () => (format.value === 'pressure' ? 'Start pressure match' : 'Start debate'),
  };
}
