// Process list: import a Process from an exported JSON file (export is a plain download link).
import { ApiError, api, errorLines } from '../lib/api.js';
import { el } from '../lib/dom.js';

// suggest a key from the name
const create = document.getElementById('create-form');
if (create) {
  create.name.addEventListener('input', () => {
    if (!create.key.dataset.touched) create.key.value = create.name.value.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').replace(/^([^a-z])/, 'p$1');
  });
  create.key.addEventListener('input', () => { create.key.dataset.touched = 1; });
}

const form = document.getElementById('import-form');
const box = document.getElementById('import-result');

function show(kind, title, lines = []) {
  box.hidden = false;
  box.className = `b-banner ${kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.replaceChildren(el('strong', {}, title), lines.length ? el('ul', { class: 'import-errors' }, ...lines.map((l) => el('li', {}, l))) : '');
}

async function readJson(file) {
  const text = await file.text();
  try { return JSON.parse(text); } catch (e) { throw new Error(`“${file.name}” is not valid JSON (${e.message}).`); }
}

if (form) {
  form.file.addEventListener('change', async () => {
    // suggest the key from the file so that a copy of an existing Process is easy to rename
    const file = form.file.files[0];
    if (!file || form.key.dataset.touched) return;
    try { const doc = await readJson(file); if (doc?.process?.key) form.key.placeholder = doc.process.key; } catch (e) { /* reported on submit */ }
  });
  form.key.addEventListener('input', () => { form.key.dataset.touched = 1; });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = form.file.files[0];
    if (!file) { show('error', 'Choose an exported .json file first.'); return; }
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const doc = await readJson(file);
      const params = new URLSearchParams();
      if (form.key.value.trim()) params.set('key', form.key.value.trim());
      if (form.team && form.team.value) params.set('team', form.team.value);
      const p = await api('POST', `/api/v1/processes/import${params.toString() ? `?${params}` : ''}`, doc);
      show('ok', `Imported “${p.name}” as ${p.key}${p.current_version ? ` (v${p.current_version})` : ''}.`);
      box.append(' ', el('a', { href: `/builder/${encodeURIComponent(p.key)}`, id: 'import-open' }, 'Open it in the builder →'));
      form.reset();
      delete form.key.dataset.touched;
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && err.code === 'invalid' && /see details/.test(err.message)) {
        show('error', 'Import failed: the file is not a valid Procly process export.', errorLines(err.details));
      } else if (err instanceof ApiError) show('error', `Import failed: ${err.message}`, errorLines(err.details));
      else show('error', `Import failed: ${err.message}`);
    } finally { btn.disabled = false; }
  });
}

document.getElementById('import-link')?.addEventListener('click', (e) => {
  e.preventDefault();
  form.scrollIntoView({ behavior: 'smooth', block: 'center' });
  form.file.focus();
});
