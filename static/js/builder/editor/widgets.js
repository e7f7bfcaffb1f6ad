// Controls for config properties whose JSON Schema says more than its type: a choice among `enum`
// values (labelled by `x-labels`), a set of them (checkboxes), a time of day, an IANA time zone and a
// Field of the Table (`x-widget`). The analyst picks; nobody types JSON. Returns null for the rest.
import { el } from '../../lib/dom.js';
import { state } from './state.js';

let zones = null;
function zoneList() {
  if (zones) return zones;
  let names = [];
  try { names = Intl.supportedValuesOf('timeZone'); } catch { names = []; }
  zones = el('datalist', { id: 'tz-options' }, ...['UTC', ...names].map((z) => el('option', { value: z })));
  document.body.append(zones);
  return zones;
}

const labelOf = (prop, value, i) => (prop['x-labels'] || [])[i] || String(value).replace(/_/g, ' ');

// name: the config key; value: its current value (or the schema default); set(v) writes it
export function widget(name, prop, value, set, label, help) {
  const items = prop.items || {};
  if (prop.type === 'array' && Array.isArray(items.enum)) {
    const chosen = new Set(value || []);
    const boxes = items.enum.map((v, i) => el('label', { class: 'check' }, el('input', {
      type: 'checkbox', name: `config.${name}.${v}`, checked: chosen.has(v),
      onchange: (e) => { if (e.target.checked) chosen.add(v); else chosen.delete(v); set(items.enum.filter((x) => chosen.has(x))); },
    }), ` ${labelOf(prop, v, i)}`));
    return el('fieldset', { class: 'field choices' }, el('legend', {}, label), ...boxes, help);
  }
  if (Array.isArray(prop.enum)) {
    const select = el('select', { name: `config.${name}`, onchange: (e) => set(e.target.value) },
      ...prop.enum.map((v, i) => el('option', { value: v, selected: v === value }, labelOf(prop, v, i))));
    return el('label', {}, label, select, help);
  }
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
  return null;
}
