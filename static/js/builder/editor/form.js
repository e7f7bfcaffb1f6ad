// The panel's form controls: sections with their validation errors, inputs bound to the selected
// Stage, the stage type's settings form built from its config JSON Schema, the Fields' read / write
// table, and the SLA editor.
import { el } from '../../lib/dom.js';
import { list, sectionOf } from './model.js';
import { errorsFor, stageByKey, stageIndex, state, view } from './state.js';
import { commit } from './history.js';
import { codeInput } from './code-editor.js';
import { widget } from './widgets.js';

// a panel section; name: the definition key(s) whose errors it lists
export function section(title, name, ...body) {
  const i = state.selected?.kind === 'stage' ? stageIndex(state.selected.key) : state.selected?.index;
  const prefix = state.selected?.kind === 'stage' ? `stages[${i}]` : `routes[${i}]`;
  const errs = errorsFor(prefix).filter((e) => [].concat(name).includes(sectionOf(e.path)));
  return el('section', { class: `p-sec${errs.length ? ' has-error' : ''}`, dataset: { section: [].concat(name)[0] } },
    el('h4', {}, title), ...body,
    errs.length ? el('ul', { class: 'field-errors' }, ...errs.map((e) => el('li', { dataset: { path: e.path } }, e.message))) : null);
}

// a labelled input; onChange(value) on change (blur or Enter), not on every key
export function input(label, value, onChange, attrs = {}) {
  return el('label', {}, label, el('input', { value: value ?? '', ...attrs, onchange: (e) => onChange(e.target.value) }));
}

// update the selected stage in place; the panel is not rebuilt so focus stays where it is
export function upd(fn, opts = { panel: false }) {
  const key = state.selected.key;
  commit(() => fn(stageByKey(key)), opts);
}

// the settings of the Stage's type: one control per property of the type's config JSON Schema
export function configForm(s) {
  const schema = state.typeByKey[s.type]?.config_schema || { properties: {} };
  const cfg = s.config || {};
  const out = [];
  const props = schema.properties || {};
  const order = [...(schema['x-order'] || []), ...Object.keys(props)].filter((n, i, all) => n in props && all.indexOf(n) === i);
  for (const [name, prop] of order.map((n) => [n, props[n]])) {
    const label = prop.title || PLAIN[name] || name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
    const help = prop.description ? el('small', { class: 'muted' }, prop.description) : null;
    const set = (v) => upd((st) => { st.config = { ...(st.config || {}) }; if (v === undefined) delete st.config[name]; else st.config[name] = v; });
    // a time, a time zone or a Field of given types (`x-widget`: widgets.js); else several of a list
    // (checkboxes) or one of a list (a select)
    if (s.type === 'compute' && name === 'assignments' && view.assignmentsEditor) { out.push(view.assignmentsEditor(s)); continue; }
    if (name === 'required' && prop.type === 'array' && !prop.items?.enum) { out.push(requiredBoxes(s)); continue; }
    const special = prop['x-widget'] ? widget(name, prop, cfg[name] ?? prop.default, set, label, help) : null;
    const boxes = special ? null : manyOf(name, prop, cfg, set, label, help);
    const choices = special || boxes ? null : choicesOf(prop, s);
    if (special) {
      out.push(special);
    } else if (boxes) {
      out.push(boxes);
    } else if (choices) {
      // a choice (an enum, or a Field of the Stage's reads / writes): a select, in plain words
      const sel = el('select', { name: `config.${name}`, dataset: { fieldOf: prop['x-field-of'] || '' },
        onchange: (e) => set(e.target.value || undefined) });
      sel.choiceProp = prop;
      fillChoices(sel, choices, cfg[name] ?? prop.default ?? '');
      out.push(el('label', {}, label, sel, help));
    } else if (prop.type === 'array') {
      const ta = el('textarea', { rows: 3, name: `config.${name}`, placeholder: 'one per line', onchange: (e) => set(list(e.target.value)) });
      ta.value = (cfg[name] ?? prop.default ?? []).join('\n');
      out.push(el('label', {}, label, ta, help));
    } else if (prop.type === 'object' && prop.properties) {
      // a nested group of numbers (e.g. the Code stage's limits): one number input each, blank = default
      const group = { ...(cfg[name] || {}) };
      const inputs = Object.entries(prop.properties).map(([sub, p]) => input(p.description || sub, group[sub], (v) => {
        if (v === '') delete group[sub]; else group[sub] = Number(v);
        set({ ...group });
      }, { type: 'number', min: p.minimum ?? 0, name: `config.${name}.${sub}`, placeholder: 'default' }));
      out.push(el('fieldset', { class: 'field group' }, el('legend', {}, label), help, ...inputs));
    } else if (prop.type === 'object') {
      const rows = Object.entries(cfg[name] || {});
      const box = el('div', { class: 'kv', dataset: { name } });
      const write = () => {
        const obj = {};
        box.querySelectorAll('.kv-row').forEach((r) => { const k = r.children[0].value.trim(); if (k) obj[k] = r.children[1].value; });
        set(obj);
      };
      const row = (k = '', v = '') => el('div', { class: 'kv-row' },
        el('input', { value: k, placeholder: 'key', 'aria-label': `${label} key`, onchange: write }),
        el('input', { value: v, placeholder: 'value', 'aria-label': `${label} value`, onchange: write }),
        el('button', { type: 'button', class: 'link', onclick: (e) => { e.target.parentElement.remove(); write(); } }, '✕'));
      rows.forEach(([k, v]) => box.append(row(k, v)));
      out.push(el('div', { class: 'field' }, el('span', { class: 'lbl' }, label), help, box,
        el('button', { type: 'button', class: 'link', onclick: () => box.append(row()) }, '+ row')));
    } else if (prop.format === 'python') {
      out.push(el('div', { class: 'field' }, el('span', { class: 'lbl' }, label), help,
        codeInput({ name: `config.${name}`, value: cfg[name] ?? prop.example ?? '', label, onChange: set })));
    } else if (prop.type === 'boolean') {
      out.push(el('label', { class: 'check' }, el('input', { type: 'checkbox', name: `config.${name}`, checked: !!(cfg[name] ?? prop.default), onchange: (e) => set(e.target.checked) }), ` ${label}`));
    } else if (prop.type === 'integer' || prop.type === 'number') {
      out.push(input(label, cfg[name], (v) => set(v === '' ? undefined : Number(v)), { type: 'number', name: `config.${name}`, placeholder: prop.default ?? '' }));
    } else {
      const ta = el('textarea', { rows: prop['x-rows'] || (name === 'instructions' ? 3 : 1), name: `config.${name}`, onchange: (e) => set(e.target.value) });
      ta.value = cfg[name] ?? '';
      out.push(el('label', {}, label, ta, help));
    }
  }
  return out.length ? out : [el('p', { class: 'muted small' }, 'This type has no settings.')];
}

// settings named by their key only, in plain words
const PLAIN = { instructions: 'Instructions for the person doing it', checklist: 'Checklist (one item per line)',
  required: 'Fields that must be filled', assignments: 'Fields to set' };

// a form's required Fields: a checkbox per Field the Stage writes
function requiredBoxes(s) {
  const chosen = new Set(s.config?.required || []);
  const set = (v) => upd((st) => { st.config = { ...(st.config || {}), required: v }; });
  const writes = state.fields.filter((f) => (s.writes || []).includes(f.key));
  return el('fieldset', { class: 'field choices', dataset: { name: 'required' } }, el('legend', {}, PLAIN.required),
    writes.length ? null : el('small', { class: 'muted' }, 'Tick the Fields this Stage writes (below) first.'),
    ...writes.map((f) => el('label', { class: 'check' }, el('input', { type: 'checkbox', name: `config.required.${f.key}`, checked: chosen.has(f.key),
      onchange: (e) => { if (e.target.checked) chosen.add(f.key); else chosen.delete(f.key); set(writes.map((x) => x.key).filter((k) => chosen.has(k))); } }), ` ${f.name}`)));
}

// `x-labels`: a list (by position) or an object (by value); else the value in words
const labelFor = (labels, v, i) => (Array.isArray(labels) ? labels[i] : labels?.[v]) ?? String(v).replace(/_/g, ' ');

// several of a fixed list (an array of an `enum`, labelled by `x-labels`): checkboxes, no JSON
function manyOf(name, prop, cfg, set, label, help) {
  if (prop.type !== 'array' || !prop.items?.enum) return null;
  const labels = prop['x-labels'] || prop.items['x-labels'];
  const chosen = new Set(cfg[name] ?? prop.default ?? []);
  const boxes = prop.items.enum.map((v) => el('label', { class: 'check' }, el('input', {
    type: 'checkbox', name: `config.${name}.${v}`, value: v, checked: chosen.has(v),
    onchange: (e) => { if (e.target.checked) chosen.add(v); else chosen.delete(v); set(prop.items.enum.filter((k) => chosen.has(k))); },
  }), ` ${labelFor(labels, v, prop.items.enum.indexOf(v))}`));
  return el('fieldset', { class: 'field choices', dataset: { name } }, el('legend', {}, label), help, ...boxes);
}

// [value, label] pairs of a choice property: `enum` (labelled by `x-labels`), or `x-field-of`
// ("reads" / "writes"): the Stage's Fields, of type `x-field-type` if given; null otherwise
export function choicesOf(prop, s) {
  if (Array.isArray(prop.enum)) return prop.enum.map((v, i) => [v, labelFor(prop['x-labels'], v, i)]);
  const of = prop['x-field-of'];
  if (!of && prop['x-field-type']) {   // a Field of the Table of one type (e.g. the file Field an upload fills)
    return [['', '—'], ...state.fields.filter((f) => f.type === prop['x-field-type'])
      .map((f) => [f.key, `${f.name}${(s.writes || []).includes(f.key) ? '' : ' (not written by this Stage)'}`])];
  }
  if (!of) return null;
  const keys = new Set(s[of] || []);
  const fields = state.fields.filter((f) => keys.has(f.key) && (!prop['x-field-type'] || f.type === prop['x-field-type']));
  return [['', '—'], ...fields.map((f) => [f.key, f.name])];
}

function fillChoices(sel, choices, current) {
  sel.replaceChildren(
    ...(choices.some(([v]) => v === current) ? [] : [el('option', { value: current }, current || '—')]),
    ...choices.map(([v, text]) => el('option', { value: v, selected: v === current }, text)));
}

// the Stage's reads / writes changed: the Field choices of its settings follow
function refreshFieldChoices(s) {
  document.querySelectorAll('#panel select[data-field-of]:not([data-field-of=""])').forEach((sel) => {
    fillChoices(sel, choicesOf(sel.choiceProp, s), sel.value);
  });
}

// the Table's Fields with a read and a write checkbox each; Fields the Table no longer has are struck out
export function fieldsTable(s) {
  const reads = new Set(s.reads || []), writes = new Set(s.writes || []);
  const toggle = (which, key, on) => upd((st) => {
    const set = new Set(st[which] || []);
    if (on) set.add(key); else set.delete(key);
    st[which] = state.fields.map((f) => f.key).filter((k) => set.has(k)).concat([...set].filter((k) => !state.fields.some((f) => f.key === k)));
    refreshFieldChoices(st);
    document.querySelector('#panel fieldset[data-name="required"]')?.replaceWith(requiredBoxes(st));
  });
  const unknown = [...new Set([...reads, ...writes])].filter((k) => !state.fields.some((f) => f.key === k));
  return el('table', { class: 'fields' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Field'), el('th', {}, 'read'), el('th', {}, 'write'))),
    el('tbody', {}, ...state.fields.map((f) => el('tr', {},
      el('td', {}, f.name, el('span', { class: 'muted small' }, ` ${f.type}`)),
      el('td', {}, el('input', { type: 'checkbox', name: `reads.${f.key}`, 'aria-label': `read ${f.key}`, checked: reads.has(f.key), onchange: (e) => toggle('reads', f.key, e.target.checked) })),
      el('td', {}, el('input', { type: 'checkbox', name: `writes.${f.key}`, 'aria-label': `write ${f.key}`, checked: writes.has(f.key), onchange: (e) => toggle('writes', f.key, e.target.checked) })))),
    ...unknown.map((k) => el('tr', { class: 'unknown' }, el('td', {}, el('s', {}, k), el('span', { class: 'err small' }, ' deleted field')),
      el('td', {}, el('input', { type: 'checkbox', checked: reads.has(k), 'aria-label': `read ${k}`, onchange: (e) => toggle('reads', k, e.target.checked) })),
      el('td', {}, el('input', { type: 'checkbox', checked: writes.has(k), 'aria-label': `write ${k}`, onchange: (e) => toggle('writes', k, e.target.checked) }))))));
}

export function durationInput(label, value, onChange, name) {
  return input(label, value, (v) => onChange(v.trim() || null), { name, placeholder: 'e.g. 48h', pattern: '\\d+[smhd]' });
}

// `get` reads the live value: the panel is not rebuilt between edits
export function slaEditor(get, write, prefix) {
  const sla = get() || {};
  const set = (k, v) => {
    const next = { ...(get() || {}) };
    if (v === null || (Array.isArray(v) && !v.length)) delete next[k]; else next[k] = v;
    write(Object.keys(next).length ? next : null);
  };
  return el('div', { class: 'row3' },
    durationInput('Due', sla.due, (v) => set('due', v), `${prefix}.due`),
    input('Reminders', (sla.reminders || []).join(', '), (v) => set('reminders', list(v)), { name: `${prefix}.reminders`, placeholder: '24h, 72h' }),
    durationInput('Escalate after', sla.escalate_after, (v) => set('escalate_after', v), `${prefix}.escalate_after`));
}

