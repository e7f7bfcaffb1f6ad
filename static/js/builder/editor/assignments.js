// The "Set fields" settings without code: one row per Field to set — a fixed value, another Field,
// a calculation or a text joined from parts — written as CEL (set-fields.js), with an expression
// box for experts. Opening a Stage shows each expression in the form that wrote it. The Fields used
// are added to the Stage's reads, the Fields set to its writes.
import { el } from '../../lib/dom.js';
import { ARITH, parse, toCel } from '../set-fields.js';
import { state } from './state.js';
import { upd } from './form.js';

const KINDS = [['value', 'a fixed value'], ['field', 'the value of another field'], ['math', 'a calculation'],
  ['join', 'text joined from parts'], ['cel', 'an expression (advanced)']];
const OPS = { '+': 'plus', '-': 'minus', '*': 'times', '/': 'divided by' };

const typeOf = () => Object.fromEntries(state.fields.map((f) => [f.key, f.type]));
const fieldName = (k) => state.fields.find((f) => f.key === k)?.name || k;

function used(form) {
  if (form.kind === 'field') return [form.field];
  if (form.kind === 'math') return [form.left.field, form.right.field];
  if (form.kind === 'join') return form.parts.map((p) => p.field);
  return [];
}

export function assignmentsEditor(s) {
  const rows = Object.entries(s.config?.assignments || {}).map(([target, cel]) => ({ target, form: parse(cel, typeOf()[target]) }));
  const box = el('div', { class: 'assignments' });
  const write = () => upd((st) => {
    const types = typeOf();
    const out = Object.fromEntries(rows.filter((r) => r.target).map((r) => [r.target, toCel(r.form, types[r.target], types)]));
    st.config = { ...(st.config || {}), assignments: out };
    const keys = state.fields.map((f) => f.key);
    const reads = new Set([...(st.reads || []), ...rows.flatMap((r) => used(r.form)).filter(Boolean)]);
    const writes = new Set([...(st.writes || []), ...rows.map((r) => r.target).filter(Boolean)]);
    st.reads = keys.filter((k) => reads.has(k));
    st.writes = keys.filter((k) => writes.has(k));
  });
  const fieldSelect = (value, label, onPick, filter = () => true) => el('select', { 'aria-label': label, onchange: (e) => onPick(e.target.value) },
    el('option', { value: '' }, '— a field —'), ...state.fields.filter(filter).map((f) => el('option', { value: f.key, selected: f.key === value }, f.name)));

  function operandControl(o, label, onSet) {
    const num = el('input', { type: 'number', step: 'any', value: o.number ?? '', 'aria-label': `${label}: number`, hidden: !!o.field,
      onchange: (e) => onSet({ number: Number(e.target.value) || 0 }) });
    const pick = el('select', { 'aria-label': label, onchange: (e) => { num.hidden = e.target.value !== '#'; onSet(e.target.value === '#' ? { number: Number(num.value) || 0 } : { field: e.target.value }); } },
      el('option', { value: '#', selected: !o.field }, 'a number'), ...state.fields.filter((f) => f.type === 'number').map((f) => el('option', { value: f.key, selected: f.key === o.field }, f.name)));
    return el('span', { class: 'operand' }, pick, num);
  }

  function how(r, n) {
    const f = r.form, t = typeOf()[r.target];
    const redo = () => { write(); draw(); };
    if (f.kind === 'value') {
      if (t === 'boolean') return el('select', { 'aria-label': `Value ${n}`, onchange: (e) => { f.value = e.target.value === 'true'; write(); } }, el('option', { value: 'true', selected: f.value === true }, 'yes'), el('option', { value: 'false', selected: f.value !== true }, 'no'));
      const choice = state.fields.find((x) => x.key === r.target)?.options;
      if (t === 'choice' && choice?.choices) return el('select', { 'aria-label': `Value ${n}`, onchange: (e) => { f.value = e.target.value; write(); } }, el('option', { value: '' }, '—'), ...choice.choices.map((v) => el('option', { value: v, selected: v === f.value }, choice.labels?.[v] || v)));
      return el('input', { 'aria-label': `Value ${n}`, type: t === 'number' ? 'number' : 'text', step: 'any', value: f.value ?? '', onchange: (e) => { f.value = e.target.value; write(); } });
    }
    if (f.kind === 'field') return fieldSelect(f.field, `From field ${n}`, (v) => { f.field = v; write(); });
    if (f.kind === 'math') {
      return el('span', { class: 'math' }, operandControl(f.left, `First number ${n}`, (o) => { f.left = o; write(); }),
        el('select', { 'aria-label': `Operation ${n}`, onchange: (e) => { f.op = e.target.value; write(); } }, ...ARITH.map((o) => el('option', { value: o, selected: o === f.op }, OPS[o]))),
        operandControl(f.right, `Second number ${n}`, (o) => { f.right = o; write(); }));
    }
    if (f.kind === 'join') {
      return el('span', { class: 'join' }, ...f.parts.map((p, j) => el('span', { class: 'part' },
        p.field !== undefined ? fieldSelect(p.field, `Part ${j + 1} of ${n}`, (v) => { p.field = v; write(); })
          : el('input', { value: p.text, 'aria-label': `Part ${j + 1} of ${n}: text`, placeholder: 'words, e.g. “ from ”', onchange: (e) => { p.text = e.target.value; write(); } }),
        el('button', { type: 'button', class: 'link', 'aria-label': `Remove part ${j + 1} of ${n}`, onclick: () => { f.parts.splice(j, 1); redo(); } }, '✕'))),
      el('button', { type: 'button', class: 'link', onclick: () => { f.parts.push({ field: '' }); redo(); } }, '+ field'),
      el('button', { type: 'button', class: 'link', onclick: () => { f.parts.push({ text: ' ' }); redo(); } }, '+ words'));
    }
    return el('textarea', { rows: 2, 'aria-label': `Expression ${n}`, class: 'code', value: f.cel || '', onchange: (e) => { f.cel = e.target.value; write(); } }, f.cel || '');
  }

  function convert(r, kind) {
    const types = typeOf();
    const cel = toCel(r.form, types[r.target], types);
    if (kind === 'cel') return { kind, cel };
    if (kind === 'value') return { kind, value: '' };
    if (kind === 'field') return { kind, field: '' };
    if (kind === 'math') return { kind, left: { field: '' }, op: '+', right: { number: 1 } };
    return { kind: 'join', parts: cel && r.form.kind !== 'join' ? [{ field: '' }] : r.form.parts || [{ field: '' }] };
  }

  function draw() {
    box.replaceChildren(...rows.map((r, i) => {
      const n = i + 1;
      return el('div', { class: 'assignment', dataset: { target: r.target } },
        el('div', { class: 'a-line' }, el('span', {}, 'Set'), fieldSelect(r.target, `Field to set ${n}`, (v) => { r.target = v; write(); draw(); }),
          el('span', {}, 'to'), el('select', { 'aria-label': `How ${n}`, onchange: (e) => { r.form = convert(r, e.target.value); write(); draw(); } },
            ...KINDS.map(([k, l]) => el('option', { value: k, selected: k === r.form.kind }, l))),
          el('button', { type: 'button', class: 'link', 'aria-label': `Remove the setting of ${fieldName(r.target) || n}`, onclick: () => { rows.splice(i, 1); write(); draw(); } }, '✕')),
        el('div', { class: 'a-how' }, how(r, n)));
    }), el('button', { type: 'button', class: 'secondary', onclick: () => { rows.push({ target: '', form: { kind: 'value', value: '' } }); draw(); box.querySelector('.assignment:last-of-type select')?.focus(); } }, '+ Set a field'));
  }
  draw();
  return el('fieldset', { class: 'field group set-fields' }, el('legend', {}, 'Fields to set'), box);
}
