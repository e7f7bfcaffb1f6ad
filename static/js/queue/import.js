// The CSV import page (templates/worklist/import.html): uploads the file to /api/v1/imports, then
// polls GET /api/v1/imports/<id> for the progress bar, the counts and the first refused rows.
import { $, el } from '../lib/dom.js';
import { api, ApiError, errorLines, parseBody } from '../lib/api.js';

const POLL_MS = 1000;
const root = $('#import');

function showError(message) {
  const box = $('#import-error');
  box.textContent = message;
  box.hidden = !message;
}

async function upload(file) {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
  const url = `/api/v1/imports?process=${encodeURIComponent(root.dataset.process)}&name=${encodeURIComponent(file.name)}`;
  const res = await fetch(url, {
    method: 'POST', credentials: 'same-origin', body: file,
    headers: { Accept: 'application/json', 'Content-Type': 'text/csv', 'X-CSRFToken': csrf },
  });
  const data = parseBody(await res.text());
  if (!res.ok) throw new ApiError(res.status, data, res.statusText);
  return data;
}

function render(imp) {
  $('#import-progress').hidden = false;
  const bar = $('#import-bar');
  bar.max = Math.max(imp.total, 1);
  bar.value = imp.processed;
  const state = { done: 'Finished', queued: 'Waiting for a worker', failed: 'Stopped' }[imp.state] || 'Importing';
  if (imp.state === 'failed') showError(`The import stopped: ${imp.error}.`);
  $('#import-status').textContent = `${state}: ${imp.processed.toLocaleString()} of ${imp.total.toLocaleString()} rows `
    + `read, ${imp.started.toLocaleString()} Tasks started, ${imp.failed.toLocaleString()} rows refused.`;
  const table = $('#import-errors');
  table.hidden = imp.errors.length === 0;
  $('tbody', table).replaceChildren(...imp.errors.map((e) => el('tr', {},
    el('td', { text: String(e.row) }), el('td', { text: e.field || '(the row)' }), el('td', { text: e.message }))));
  $('#import-report').hidden = imp.failed === 0;
  $('#import-report-link').href = `/api/v1/imports/${imp.id}/errors.csv`;
}

async function follow(id) {
  const imp = await api('GET', `/api/v1/imports/${id}?per_page=100`);
  render(imp);
  if (imp.state !== 'done' && imp.state !== 'failed') setTimeout(() => follow(id).catch((e) => showError(e.message)), POLL_MS);
}

$('#import-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = $('#import-file').files[0];
  if (!file) return;
  showError('');
  try {
    const imp = await upload(file);
    history.replaceState(null, '', `?import=${imp.id}`);
    await follow(imp.id);
  } catch (e) {
    showError(e instanceof ApiError ? [e.message, ...errorLines(e.details)].join(' ') : String(e));
  }
});

if (root.dataset.import) follow(root.dataset.import).catch((e) => showError(e.message));
