// Every change to the draft goes through commit(): an undo snapshot, the change, a re-render and an
// autosave. Undo / redo, and selecting what the panel shows.
import { CAN_EDIT, focusCard, stageByKey, state, view } from './state.js';
import { scheduleSave } from './autosave.js';

const snapshot = () => JSON.stringify(state.def);

// panel: false leaves the panel as it is (an edit made in it keeps its focus)
export function commit(mutate, { panel = true } = {}) {
  if (!CAN_EDIT) return;
  const before = snapshot();
  mutate();
  if (snapshot() === before) { view.renderLane(); if (panel) view.renderPanel(); return; }   // nothing changed
  state.undo.push(before);
  if (state.undo.length > 200) state.undo.shift();
  state.redo = [];
  view.renderLane();
  if (panel) view.renderPanel();
  scheduleSave();
}

export function undo() {
  if (!state.undo.length) return;
  state.redo.push(snapshot());
  state.def = JSON.parse(state.undo.pop());
  afterHistory();
}

export function redo() {
  if (!state.redo.length) return;
  state.undo.push(snapshot());
  state.def = JSON.parse(state.redo.pop());
  afterHistory();
}

function afterHistory() {
  if (state.selected?.kind === 'stage' && !stageByKey(state.selected.key)) state.selected = null;
  if (state.selected?.kind === 'route' && !state.def.routes[state.selected.index]) state.selected = null;
  view.renderLane(); view.renderPanel(); scheduleSave();
}

// sel: {kind: 'stage', key} | {kind: 'route', index} | {kind: 'start'} | null (panel closed)
export function select(sel) {
  state.selected = sel;
  view.renderLane(); view.renderPanel();
  if (sel?.kind === 'stage') {
    focusCard(sel.key);
    document.querySelector(`#lane .card[data-key="${CSS.escape(sel.key)}"]`)?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }
}
