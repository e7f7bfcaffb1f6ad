// Controls for config properties whose JSON Schema names a widget (`x-widget`): a time of day, an IANA
// time zone, a Field of the Table of given types, Fields each with an expression (`field-map`). The
// analyst picks; nobody types JSON. Returns null for the rest (choices of an `enum` are form.js's).
import { el } from '../../lib/dom.js';
import { stageByKey, state } from './state.js';

let zones = null;
function zoneList() {
  if (zones) return zones;
  let names = [];
  try { names = Intl.supportedValuesOf('timeZone'); } catch { names = []; }
  zones = el('datalist', { id: 'tz-options' }, ...['UTC', ...names].map((z) => el('option', { value: z })));
  document.body.append(zones);
  return zones;
}

// name: the config key; value: its current value (or the schema default); set(v) writes it
export function widget(name, prop, value, set, label, help) {
  const kind = prop['x-widget'];
  if (kind === 'time') {
    return el('label', {}, label, el('input', { type: 'time', name: `config.${name}`, value: value ?? '', onchange: (e) => set(e.target.value) }), help);
  }
  if (kind === 'timezone') {
    zoneList();
    return el('label', {}, label, el('input', { name: `config.${name}`, list: 'tz-options', value: value ?? '', autocomplete: 'off',
      placeholder: 'e.g. Europe/Paris', onchange: (e) => set(e.target.value.trim()) }), help);
  }
  if (kind === 'field') {
    const types = prop['x-field-types'];
    const fields = state.fields.filter((f) => !types || types.includes(f.type));
    const select = el('select', { name: `config.${name}`, onchange: (e) => set(e.target.value) },
      el('option', { value: '' }, '— choose a Field —'),
      ...fields.map((f) => el('option', { value: f.key, selected: f.key === value }, f.name)));
    return el('label', {}, label, select, help);
  }
  if (kind === 'field-map') return fieldMap(name, prop, value, set, label, help);
  return null;
}

// Rows of (a Field of the Stage's `x-field-of` list, by name) → (an expression): e.g. where a Webhook's
// answer holds each value it writes. A Field is offered once; blank rows are dropped.
function fieldMap(name, prop, value, set, label, help) {
  const of = prop['x-field-of'] || 'writes';
  const fieldKeys = () => (stageByKey(state.selected?.key) || {})[of] || [];   // live: ticks change it
  const nameOf = (k) => state.fields.find((f) => f.key === k)?.name || k;
  const box = el('div', { class: 'kv field-map', dataset: { name } });
  const write = () => {
    const out = {};
    box.querySelectorAll('.kv-row').forEach((r) => {
      const k = r.children[0].value; const v = r.children[1].value.trim();
      if (k && v) out[k] = v;
    });
    set(out);
  };
  const select = (k) => {
    const keys = fieldKeys();
    // data-field-of: form.js refreshes the options when the Stage's read / write ticks change
    const sel = el('select', { 'aria-label': `${label}: Field`, name: `config.${name}.field`, onchange: write,
      dataset: { fieldOf: of } },
    el('option', { value: '' }, '—'),
    ...[...new Set([...keys, ...(k && !keys.includes(k) ? [k] : [])])].map((f) => el('option', { value: f, selected: f === k }, nameOf(f))));
    sel.choiceProp = { 'x-field-of': of };
    return sel;
  };
  const row = (k = '', v = '') => el('div', { class: 'kv-row' },
    select(k),
    el('input', { value: v, placeholder: prop['x-placeholder'] || 'e.g. body.id', 'aria-label': `${label}: from`, name: `config.${name}.expr`, onchange: write }),
    el('button', { type: 'button', class: 'link', 'aria-label': 'Remove this row', onclick: (e) => { e.target.parentElement.remove(); write(); } }, '✕'));
  Object.entries(value || {}).forEach(([k, v]) => box.append(row(k, v)));
  return el('div', { class: 'field' }, el('span', { class: 'lbl' }, label), help, box,
    el('button', { type: 'button', class: 'link', onclick: () => box.append(row()) }, '+ Field'));
}
