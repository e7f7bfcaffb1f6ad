// Table editor: add, rename and retype Fields through /api/v1/tables; the options of choice Fields
// (choice-editor.js).
import { api } from '../lib/api.js';
import { el } from '../lib/dom.js';
import { choiceEditor } from './choice-editor.js';
import { fromLabels } from './options.js';

const box = document.getElementById('table');
const KEY = box.dataset.key;
const CAN_EDIT = box.dataset.canEdit === 'true';
const TYPES = [['text', 'Text'], ['number', 'Number'], ['date', 'Date'], ['datetime', 'Date and time'], ['boolean', 'Yes / no'],
  ['choice', 'Choice (a list of options)'], ['email', 'Email'], ['phone', 'Phone'], ['url', 'Web address'], ['file', 'File'], ['json', 'Structured data (JSON)']];
const status = (t) => { document.getElementById('table-state').textContent = t; };
const detailLines = (err) => (err.details && typeof err.details === 'object' ? Object.entries(err.details).map(([k, v]) => `${k}: ${v}`).join('; ') : '');

async function patch(field, data) {
  try {
    await api('PATCH', `/api/v1/tables/${KEY}/fields/${field}`, data);
    status(`Saved ${field}.`);
  } catch (err) { status(`Not saved: ${err.message} ${detailLines(err)}`); }
  await load(field);
}

function fieldRows(f) {
  const main = el('tr', { dataset: { field: f.key } },
    el('td', {}, el('code', {}, f.key)),
    el('td', {}, el('input', { value: f.name, disabled: !CAN_EDIT, 'aria-label': `Name of ${f.key}`, onchange: (e) => patch(f.key, { name: e.target.value }) })),
    el('td', {}, el('select', { disabled: !CAN_EDIT, 'aria-label': `Type of ${f.key}`, onchange: (e) => {
      // a Field becoming a choice needs its options first: start with one the designer renames
      const data = { type: e.target.value };
      if (data.type === 'choice' && !f.options?.choices?.length) data.options = { choices: ['option_1'], labels: { option_1: 'Option 1' } };
      patch(f.key, data);
    } }, ...TYPES.map(([x, label]) => el('option', { value: x, selected: x === f.type }, label)))),
    el('td', {}, el('input', { type: 'checkbox', checked: f.required, disabled: !CAN_EDIT, 'aria-label': `Required ${f.key}`, onchange: (e) => patch(f.key, { required: e.target.checked }) })),
    el('td', {}, CAN_EDIT ? el('button', { type: 'button', class: 'secondary', 'aria-label': `Delete ${f.name}`, onclick: async () => {
      if (!confirm(`Delete field ${f.key}? Stages that use it will show an error.`)) return;
      try { await api('DELETE', `/api/v1/tables/${KEY}/fields/${f.key}`); status(`Deleted ${f.key}.`); } catch (err) { status(err.message); }
      load();
    } }, 'Delete') : ''));
  const extra = extraOptions(f);
  if (extra) return [main, el('tr', { class: 'options-row', dataset: { optionsOf: f.key } }, el('td', {}), el('td', { colspan: 4 }, extra))];
  if (f.type !== 'choice') return [main];
  const editor = choiceEditor(f, { canEdit: CAN_EDIT, tableKey: KEY, save: (options) => patch(f.key, { options }) });
  return [main, el('tr', { class: 'options-row', dataset: { optionsOf: f.key } }, el('td', {}), el('td', { colspan: 4 }, editor))];
}

// a number's unit (shown after the input: "EUR", "kg") and a text's "several lines" (a text area)
function extraOptions(f) {
  const opts = f.options || {};
  const keep = (changes) => { const o = { ...opts, ...changes }; Object.keys(o).forEach((k) => { if (o[k] === '' || o[k] === false) delete o[k]; }); return o; };
  if (f.type === 'number') {
    return el('label', { class: 'inline' }, 'Unit shown after the number ',
      el('input', { value: opts.unit || '', maxLength: 16, size: 8, disabled: !CAN_EDIT, 'aria-label': `Unit of ${f.name}`,
        onchange: (e) => patch(f.key, { options: keep({ unit: e.target.value.trim() }) }) }));
  }
  if (f.type === 'text') {
    return el('label', { class: 'inline' }, el('input', { type: 'checkbox', checked: !!opts.multiline, disabled: !CAN_EDIT,
      'aria-label': `Several lines for ${f.name}`, onchange: (e) => patch(f.key, { options: keep({ multiline: e.target.checked }) }) }),
    ' Several lines (a larger box for longer text)');
  }
  return null;
}

// focusField: after a change to its options, focus returns to that Field's options editor
async function load(focusField = null) {
  const active = document.activeElement?.getAttribute('aria-label');
  const t = await api('GET', `/api/v1/tables/${KEY}`);
  document.getElementById('fields').replaceChildren(...t.fields.flatMap(fieldRows));
  if (focusField && active) document.querySelector(`#fields [aria-label="${CSS.escape(active)}"]`)?.focus();
}

const form = document.getElementById('add-field');
const optionsBox = document.getElementById('add-options');
const showOptions = () => { if (optionsBox) optionsBox.hidden = form.type.value !== 'choice'; };
form?.type.addEventListener('change', showOptions);
form?.name.addEventListener('input', () => { if (!form.key.dataset.touched) form.key.value = form.name.value.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, ''); });
form?.key.addEventListener('input', () => { form.key.dataset.touched = 1; });
form?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = { key: form.key.value, name: form.name.value, type: form.type.value };
  if (body.type === 'choice') body.options = fromLabels(form.choices.value.split('\n'));
  try {
    await api('POST', `/api/v1/tables/${KEY}/fields`, body);
    status(`Added ${form.key.value}.`);
    form.reset(); delete form.key.dataset.touched; showOptions();
    load();
  } catch (err) {
    status(`Not added: ${err.message} ${detailLines(err)}`);
  }
});
showOptions();
load();
