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
//   typing.js    apply typing on a pause, keys checked as typed; problems.js the problems list
//   shortcuts.js the keyboard (on the focused card) and its help
//   model.js     pure functions over the definition
import { api } from '../lib/api.js';
import { $ } from '../lib/dom.js';
import { CAN_EDIT, KEY, adopt, root, showNotice, state, view } from './editor/state.js';
import { redo, select, undo } from './editor/history.js';
import { addStage, renderLane, renderPalette } from './editor/lane.js';
import { addRoute, renderPanel } from './editor/panel.js';
import { readLocal, save, setSaveState, showConflict, storeLocal } from './editor/autosave.js';
import { compareVersions, initPublish, showVersions } from './editor/versions.js';
import { followTargets, initLive } from './editor/live.js';
import { initProblems, renderProblems } from './editor/problems.js';
import { initShortcuts } from './editor/shortcuts.js';
import { assignmentsEditor } from './editor/assignments.js';
import { applyOnPause, flushAll, onTypingStart, typingPending } from './editor/typing.js';

Object.assign(view, { renderLane: () => { renderLane(); renderProblems(); }, renderPanel, assignmentsEditor });

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
  const { types, table, processes, draft, splits, people } = JSON.parse($('#builder-boot').textContent);
  state.types = types;
  state.typeByKey = Object.fromEntries(types.map((t) => [t.key, t]));
  state.fields = table.fields || [];
  state.processes = processes;
  state.splits = splits || [];
  state.people = people || { teams: [], users: [] };
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
  view.renderLane();
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
  // typing is applied after a pause; leaving with anything unsaved keeps a copy here and asks first
  applyOnPause($('#panel'));
  onTypingStart(() => setSaveState('Unsaved changes…'));
  initShortcuts();
  initProblems();
  window.addEventListener('beforeunload', (e) => {
    if (typingPending()) flushAll();
    if (!state.dirty && !state.saving) return;
    storeLocal(true);
    e.preventDefault();
    e.returnValue = '';
  });
  initLive();
  followTargets();
  root.dataset.ready = 'true';
  timing.ready = Math.round(performance.now());   // since navigation start: the open as the user sees it
  root.dataset.timing = JSON.stringify(timing);
}

boot().catch((err) => { showNotice(`Could not load the builder: ${err.message}`, 'error'); });
