// Table editor: add, rename and retype Fields through /api/v1/tables.
import { api } from '../lib/api.js';
import { el } from '../lib/dom.js';

const box = document.getElementById('table');
const KEY = box.dataset.key;
const CAN_EDIT = box.dataset.canEdit === 'true';
const TYPES = ['text', 'number', 'date', 'datetime', 'boolean', 'choice', 'email', 'phone', 'url', 'file', 'json'];
const status = (t) => { document.getElementById('table-state').textContent = t; };

async function patch(field, data) {
  try {
    await api('PATCH', `/api/v1/tables/${KEY}/fields/${field}`, data);
    status(`Saved ${field}.`);
  } catch (err) { status(`Not saved: ${err.message}`); await load(); }
}

async function load() {
  const t = await api('GET', `/api/v1/tables/${KEY}`);
  document.getElementById('fields').replaceChildren(...t.fields.map((f) => el('tr', { dataset: { field: f.key } },
    el('td', {}, el('code', {}, f.key)),
    el('td', {}, el('input', { value: f.name, disabled: !CAN_EDIT, 'aria-label': `Name of ${f.key}`, onchange: (e) => patch(f.key, { name: e.target.value }) })),
    el('td', {}, el('select', { disabled: !CAN_EDIT, 'aria-label': `Type of ${f.key}`, onchange: (e) => patch(f.key, { type: e.target.value }) },
      ...TYPES.map((x) => el('option', { value: x, selected: x === f.type }, x)))),
    el('td', {}, el('input', { type: 'checkbox', checked: f.required, disabled: !CAN_EDIT, style: 'width:auto', 'aria-label': `Required ${f.key}`, onchange: (e) => patch(f.key, { required: e.target.checked }) })),
    el('td', {}, CAN_EDIT ? el('button', { type: 'button', class: 'secondary', onclick: async () => {
      if (!confirm(`Delete field ${f.key}? Stages that use it will show an error.`)) return;
      try { await api('DELETE', `/api/v1/tables/${KEY}/fields/${f.key}`); status(`Deleted ${f.key}.`); } catch (err) { status(err.message); }
      load();
    } }, 'Delete') : ''))));
}

const form = document.getElementById('add-field');
form?.name.addEventListener('input', () => { if (!form.key.dataset.touched) form.key.value = form.name.value.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, ''); });
form?.key.addEventListener('input', () => { form.key.dataset.touched = 1; });
form?.addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    await api('POST', `/api/v1/tables/${KEY}/fields`, { key: form.key.value, name: form.name.value, type: form.type.value });
    status(`Added ${form.key.value}.`);
    form.reset(); delete form.key.dataset.touched;
    load();
  } catch (err) {
    const d = err.details && typeof err.details === 'object' ? Object.entries(err.details).map(([k, v]) => `${k}: ${v}`).join('; ') : '';
    status(`Not added: ${err.message} ${d}`);
  }
});
load();
