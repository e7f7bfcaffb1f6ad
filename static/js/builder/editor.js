// The lane editor's entry point (templates/builder/editor.html): reads the boot data the page
// carries, restores unsaved edits kept in this browser, draws the palette, lane and panel, and wires
// the toolbar, the keyboard and the name / description form. The parts live in ./editor/:
//   state.js     shared state, read from #builder's data attributes; the `view` hooks
//   history.js   commit (undo snapshot, re-render, autosave), undo / redo, select
//   lane.js      columns of cards, drag and drop, palette, add / move / delete Stages
//   panel.js     the Stage / Route / start panel; form.js its controls and the config form
//   autosave.js  saving (saver.js: the pure state machine), localStorage, conflicts
//   versions.js  publish, history, rollback, compare (diff.js model, diff-view.js drawing)
//   live.js      presence of co-editors and live Task counts over Socket.IO
//   model.js     pure functions over the definition
import { api } from '../lib/api.js';
import { $ } from '../lib/dom.js';
import { CAN_EDIT, KEY, adopt, focusCard, root, showNotice, state, view } from './editor/state.js';
import { redo, select, undo } from './editor/history.js';
import { addStage, deleteStage, moveStage, renderLane, renderPalette } from './editor/lane.js';
import { addRoute, renderPanel } from './editor/panel.js';
import { readLocal, save, setSaveState, showConflict, storeLocal } from './editor/autosave.js';
import { compareVersions, initPublish, showVersions } from './editor/versions.js';
import { initLive } from './editor/live.js';

Object.assign(view, { renderLane, renderPanel });

// ---------------------------------------------------------------- keyboard
document.addEventListener('keydown', (e) => {
  const inField = e.target.closest('input, textarea, select, dialog');
  const mod = e.ctrlKey || e.metaKey;
  if (mod && e.key.toLowerCase() === 'z' && !inField && CAN_EDIT) { e.preventDefault(); if (e.shiftKey) redo(); else undo(); return; }
  if (mod && e.key.toLowerCase() === 'y' && !inField && CAN_EDIT) { e.preventDefault(); redo(); return; }
  if (e.key === 'Escape' && state.selected && !e.target.closest('dialog') && !document.querySelector('dialog[open]')) {
    e.preventDefault();
    const back = state.selected.kind === 'stage' ? state.selected.key : state.def.routes[state.selected.index]?.stage;
    if ($('#panel').contains(document.activeElement)) document.activeElement.blur();   // flush a pending change first
    select(null);
    if (back) focusCard(back);
    return;
  }
  if (inField || !CAN_EDIT || state.selected?.kind !== 'stage') return;
  const key = state.selected.key;
  if (e.altKey && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) { e.preventDefault(); moveStage(key, e.key === 'ArrowLeft' ? -1 : 1); }
  else if (e.key === 'Delete' && e.target.closest('.card, body') && !e.target.closest('#panel')) { e.preventDefault(); deleteStage(key); }
});

// ---------------------------------------------------------------- name and description
function initDetails() {
  const form = $('#details-form');
  if (!form) return;
  const shown = $('#details-view');
  const open = (on) => {
    form.hidden = !on; shown.hidden = on; $('#details-error').textContent = '';
    if (on) { form.name.value = $('#process-name').textContent; form.description.value = $('#process-desc').textContent; form.name.focus(); form.name.select(); }
  };
  $('#edit-details').addEventListener('click', () => open(true));
  $('#details-cancel').addEventListener('click', () => { open(false); $('#edit-details').focus(); });
  form.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); open(false); $('#edit-details').focus(); } });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = form.name.value.trim(), description = form.description.value.trim();
    if (!name) { $('#details-error').textContent = 'A name is required.'; return; }
    $('#details-save').disabled = true;
    try {
      const p = await api('PATCH', `/api/v1/processes/${KEY}`, { name, description });
      $('#process-name').textContent = p.name;
      $('#process-desc').textContent = p.description || '';
      $('#process-desc').hidden = !p.description;
      document.title = document.title.replace(/^.*? · Builder/, `${p.name} · Builder`);
      open(false);
      showNotice(`Saved the process details.`, 'ok');
      $('#edit-details').focus();
    } catch (err) {
      const details = Object.entries(err.details || {}).map(([k, v]) => `${k}: ${[].concat(v).join(', ')}`).join('; ');
      $('#details-error').textContent = `Not saved: ${err.message}${details ? ` (${details})` : ''}`;
    } finally { $('#details-save').disabled = false; }
  });
}

// ---------------------------------------------------------------- boot
async function boot() {
  const bootStart = performance.now();
  // the page carries what the editor needs (same JSON as the API's GETs): no round trip on open
  const { types, table, processes, draft, splits } = JSON.parse($('#builder-boot').textContent);
  state.types = types;
  state.typeByKey = Object.fromEntries(types.map((t) => [t.key, t]));
  state.fields = table.fields || [];
  state.processes = processes;
  state.splits = splits || [];
  adopt(draft);
  const local = readLocal();
  if (CAN_EDIT && local && JSON.stringify(local.definition) !== JSON.stringify(state.def)) {
    state.def = local.definition;
    if (local.revision === draft.revision) {
      showNotice('Restored unsaved changes kept in this browser.', 'ok');
      state.dirty = true;
      setTimeout(save, 0);
    } else {
      state.revision = local.revision;
      state.dirty = true;
      showConflict({ updated_by: draft.updated_by });
    }
  } else if (local) storeLocal(false);
  const fetched = performance.now();
  renderPalette();
  renderLane();
  renderPanel();
  const timing = { data: Math.round(fetched - bootStart), render: Math.round(performance.now() - fetched) };
  setSaveState(CAN_EDIT ? (state.dirty ? 'Unsaved changes…' : 'All changes saved') : 'Read-only');
  initPublish();
  initDetails();
  $('#add-stage')?.addEventListener('click', () => addStage('basic'));
  $('#add-route')?.addEventListener('click', () => addRoute(state.selected?.kind === 'stage' ? state.selected.key : null));
  $('#edit-start').addEventListener('click', () => select({ kind: 'start' }));
  $('#undo')?.addEventListener('click', undo);
  $('#redo')?.addEventListener('click', redo);
  $('#show-versions').addEventListener('click', showVersions);
  $('#compare').addEventListener('click', compareVersions);
  document.querySelectorAll('[data-close]').forEach((b) => b.addEventListener('click', () => b.closest('dialog').close()));
  window.addEventListener('beforeunload', () => { if (state.dirty) storeLocal(true); });
  initLive();
  root.dataset.ready = 'true';
  timing.ready = Math.round(performance.now());   // since navigation start: the open as the user sees it
  root.dataset.timing = JSON.stringify(timing);
}

boot().catch((err) => { showNotice(`Could not load the builder: ${err.message}`, 'error'); });
