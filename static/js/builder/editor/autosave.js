// Autosave in the page: the saver (saver.js) wired to the API, the save-state label, a copy of
// unsaved edits in localStorage (restored on the next open), and the conflict banner with Reload
// and Compare when someone else saved first.
import { api } from '../../lib/api.js';
import { $, el } from '../../lib/dom.js';
import { CAN_EDIT, KEY, LS_KEY, adopt, state, view } from './state.js';
import { createSaver } from './saver.js';
import { localDiff } from './diff.js';
import { renderDiff } from './diff-view.js';
import { typingPending } from './typing.js';

// "All changes saved" only when nothing typed is waiting to be applied
export function setSaveState(text) {
  $('#save-state').textContent = typingPending() && /^(All changes saved|Saved)/.test(text) ? 'Unsaved changes…' : text;
}

// keep (dirty) or drop the browser's copy of the draft
export function storeLocal(dirty) {
  try {
    if (dirty) localStorage.setItem(LS_KEY, JSON.stringify({ definition: state.def, revision: state.revision, at: Date.now() }));
    else localStorage.removeItem(LS_KEY);
  } catch { /* storage full or disabled: autosave still runs */ }
}

// the browser's copy of unsaved edits ({definition, revision}), or null
export function readLocal() {
  try { return JSON.parse(localStorage.getItem(LS_KEY) || 'null'); } catch { return null; }
}

// only the error lists of the panel change after a save: rebuild it (a fixed error disappears at
// once), unless typing waits to be applied; focus goes back to the same control
function refreshPanelErrors() {
  const panel = $('#panel');
  const active = panel.contains(document.activeElement) ? document.activeElement : null;
  if (active && typingPending()) return;
  const name = active?.getAttribute('name'), label = active?.getAttribute('aria-label');
  view.renderPanel();
  if (!active) return;
  const sel = name ? `[name="${CSS.escape(name)}"]` : label ? `[aria-label="${CSS.escape(label)}"]` : null;
  (sel && panel.querySelector(sel))?.focus();
}

const saver = createSaver({
  state,
  put: (definition, revision) => api('PUT', `/api/v1/processes/${KEY}/draft`, { definition, revision }),
  on: {
    status: setSaveState,
    store: storeLocal,
    errorsChanged: () => { view.renderLane(); refreshPanelErrors(); },
    conflict: (details) => showConflict(details),
  },
});

export const save = () => saver.save();

export function scheduleSave() {
  if (!CAN_EDIT) return;
  saver.schedule();
}

export function showConflict(details) {
  state.conflict = details || {};
  const box = $('#conflict');
  box.hidden = false;
  box.replaceChildren(
    el('strong', {}, `Changed by ${state.conflict.updated_by || 'someone else'}`),
    ' — your edits were not saved over theirs and are kept in this browser. ',
    el('button', { type: 'button', class: 'secondary', id: 'conflict-reload', onclick: reloadFromServer }, 'Reload'),
    ' ', el('button', { type: 'button', class: 'secondary', id: 'conflict-compare', onclick: compareWithServer }, 'Compare'));
  setSaveState('Not saved (conflict)');
}

// take their draft; yours is kept aside in localStorage (…:discarded)
async function reloadFromServer() {
  try { localStorage.setItem(`${LS_KEY}:discarded`, JSON.stringify({ definition: state.def, at: Date.now() })); } catch { /* ignore */ }
  const d = await api('GET', `/api/v1/processes/${KEY}/draft`);
  adopt(d);
  storeLocal(false);
  state.conflict = null; state.dirty = false;
  $('#conflict').hidden = true;
  setSaveState('Reloaded');
  view.renderLane(); view.renderPanel();
}

async function compareWithServer() {
  const d = await api('GET', `/api/v1/processes/${KEY}/draft`);
  const dlg = $('#versions-dialog');
  $('#versions').replaceChildren(el('p', {}, `Their draft (revision ${d.revision}, by ${d.updated_by || 'someone'}) compared with yours:`));
  renderDiff(d.definition, state.def, localDiff(d.definition, state.def), 'theirs', 'yours');
  const keepMine = async () => {
    state.revision = d.revision; state.conflict = null; $('#conflict').hidden = true;
    dlg.close(); state.dirty = true; await save();
  };
  $('#diff').append(el('div', { class: 'dlg-actions' },
    el('button', { type: 'button', id: 'keep-mine', onclick: keepMine }, 'Keep mine (save over theirs)'),
    ' ', el('button', { type: 'button', class: 'secondary', onclick: async () => { dlg.close(); await reloadFromServer(); } }, 'Take theirs')));
  if (!dlg.open) dlg.showModal();
}
