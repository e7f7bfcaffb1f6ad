// "New split…" on the Process list: a name, the Table and owning Team, and the variants — each a
// Process on that Table at its current Version or a fixed one, with a weight. POST /api/v1/splits,
// then the Split's page (weights, live counts, promote a winner).
import { api, errorLines } from '../lib/api.js';
import { $, el } from '../lib/dom.js';

const form = $('#split-form');
const { processes } = JSON.parse($('#split-boot').textContent);
const rows = $('#split-variants');
const slugOf = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').replace(/^([^a-z])/, 's$1');
const onTable = () => processes.filter((p) => p.table === form.table.value);

function versionOptions(sel, key, current) {
  const p = processes.find((x) => x.key === key);
  const n = p?.version || 0;
  sel.replaceChildren(el('option', { value: '' }, n ? `current (v${n}, follows new Versions)` : 'current (not published yet)'),
    ...Array.from({ length: n }, (_, i) => n - i).map((v) => el('option', { value: v, selected: String(v) === String(current) }, `fixed: v${v}`)));
}

function total() {
  $('#split-total').textContent = [...rows.querySelectorAll('input[name=weight]')].reduce((a, i) => a + (Number(i.value) || 0), 0);
}

function variantRow(processKey = '', weight = 50) {
  const n = rows.children.length + 1;
  const proc = el('select', { name: 'process', 'aria-label': `Process of variant ${n}` },
    ...onTable().map((p) => el('option', { value: p.key, selected: p.key === processKey }, p.name)));
  const version = el('select', { name: 'version', 'aria-label': `Version of variant ${n}` });
  proc.addEventListener('change', () => versionOptions(version, proc.value));
  versionOptions(version, proc.value);
  const row = el('div', { class: 'variant-row' }, proc, version,
    el('label', { class: 'inline' }, 'Weight ', el('input', { name: 'weight', type: 'number', min: 0, max: 10000, value: weight, oninput: total }), ' %'),
    el('button', { type: 'button', class: 'link', 'aria-label': `Remove variant ${n}`, onclick: () => { row.remove(); total(); } }, 'Remove'));
  rows.append(row);
  total();
  return row;
}

function reset() {
  rows.replaceChildren();
  const ps = onTable();
  variantRow(ps[0]?.key, 80);
  variantRow(ps[1]?.key || ps[0]?.key, 20);
}

form.name.addEventListener('input', () => { if (!form.key.dataset.touched) form.key.value = slugOf(form.name.value); });
form.key.addEventListener('input', () => { form.key.dataset.touched = 1; });
form.table.addEventListener('change', reset);
$('#add-variant').addEventListener('click', () => variantRow(onTable()[0]?.key, 0).querySelector('select').focus());

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = $('#split-errors');
  out.textContent = '';
  const taken = new Set();
  const variants = [...rows.children].map((r) => {
    const process = r.querySelector('[name=process]').value;
    const version = r.querySelector('[name=version]').value;
    let key = `${process}${version ? `-v${version}` : ''}`.slice(0, 60);
    for (let i = 2; taken.has(key); i++) key = `${process.slice(0, 56)}-${i}`;
    taken.add(key);
    return { key, process, version: version ? Number(version) : null, weight: Number(r.querySelector('[name=weight]').value) || 0 };
  });
  if (!form.name.value.trim()) { out.textContent = 'Give the split a name.'; form.name.focus(); return; }
  if (!variants.length) { out.textContent = 'Add at least one variant.'; return; }
  try {
    const s = await api('POST', '/api/v1/splits', { key: form.key.value.trim(), name: form.name.value.trim(), table: form.table.value, team: form.team.value, variants });
    window.location.assign(`/builder/splits/${encodeURIComponent(s.key)}`);
  } catch (err) {
    out.replaceChildren(el('strong', {}, `Not created: ${err.message}`), el('ul', {}, ...errorLines(err.details).map((l) => el('li', {}, l))));
  }
});

reset();
