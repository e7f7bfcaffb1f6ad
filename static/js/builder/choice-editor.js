// The options editor of a choice Field on the Table page: add an option, rename its label, reorder,
// retire (with a warning naming how many Tasks hold it) and restore. Every change is one PATCH.
import { api } from '../lib/api.js';
import { el } from '../lib/dom.js';
import { addOption, labelOf, move, relabel, restore, retire } from './options.js';

// field: the Field as the API gives it; save(options) PATCHes it; tableKey names the usage URL
export function choiceEditor(field, { canEdit, tableKey, save }) {
  const opts = { choices: [], ...(field.options || {}) };
  const name = field.name;
  const btn = (text, label, onclick, extra = {}) => el('button', { type: 'button', class: 'link', 'aria-label': label, onclick, ...extra }, text);
  const row = (v, i) => el('li', { class: 'opt', dataset: { value: v } },
    el('input', { value: labelOf(opts, v), disabled: !canEdit, 'aria-label': `Label of option ${i + 1} of ${name}`,
      onchange: (e) => save(relabel(opts, v, e.target.value)) }),
    el('code', { class: 'muted small', title: 'stored value' }, v),
    canEdit ? [
      btn('↑', `Move ${labelOf(opts, v)} up`, () => save(move(opts, v, -1)), { disabled: i === 0 }),
      btn('↓', `Move ${labelOf(opts, v)} down`, () => save(move(opts, v, 1)), { disabled: i === opts.choices.length - 1 }),
      btn('Retire', `Retire ${labelOf(opts, v)}`, () => retireOption(v), { disabled: opts.choices.length === 1 }),
    ] : null);

  async function retireOption(v) {
    let n = 0;
    try { n = (await api('GET', `/api/v1/tables/${tableKey}/fields/${field.key}/usage`)).counts[v] || 0; } catch { n = 0; }
    const used = n === 1 ? '1 Task holds it' : `${n} Tasks hold it`;
    if (!window.confirm(`Retire “${labelOf(opts, v)}”? ${used}: they keep it, but it is no longer offered.`)) return;
    save(retire(opts, v));
  }

  const adding = el('input', { placeholder: 'New option', 'aria-label': `New option of ${name}` });
  const addIt = () => { if (adding.value.trim()) save(addOption(opts, adding.value)); };
  adding.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); addIt(); } });
  const retired = opts.retired || [];
  return el('fieldset', { class: 'choice-options', dataset: { field: field.key } },
    el('legend', {}, `Options of ${name}`),
    el('ol', {}, ...opts.choices.map(row)),
    canEdit ? el('div', { class: 'opt-add' }, adding, el('button', { type: 'button', class: 'secondary', onclick: addIt }, 'Add option')) : null,
    retired.length ? el('div', { class: 'retired muted small' }, 'Retired (kept on the Tasks that hold them): ',
      ...retired.map((v) => el('span', { class: 'retired-opt', dataset: { value: v } }, labelOf(opts, v), ' ',
        canEdit ? btn('Restore', `Restore ${labelOf(opts, v)}`, () => save(restore(opts, v))) : null, ' '))) : null);
}
