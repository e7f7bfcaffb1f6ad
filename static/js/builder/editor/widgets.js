// Controls for config properties whose JSON Schema names a widget (`x-widget`): a time of day, an IANA
// time zone, a Field of the Table of given types. The analyst picks; nobody types JSON. Returns null
// for the rest (choices of an `enum` are form.js's).
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
  return null;
}
