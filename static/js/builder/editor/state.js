// The lane editor's shared state, read from the page (#builder's data attributes) and changed by the
// other modules; `view` is where the lane and the panel register their render functions, so the
// modules that change the state (history, autosave, versions, live) re-render without importing
// the views that import them.
import { $ } from '../../lib/dom.js';
import * as model from './model.js';

export const root = document.getElementById('builder');
export const KEY = root.dataset.key;
export const PID = root.dataset.id;
export const CAN_EDIT = root.dataset.canEdit === 'true';
export const ME = Number(root.dataset.userId);
export const LS_KEY = `procly:draft:${KEY}`;

export const state = {
  def: { stages: [], routes: [] },
  revision: 0,
  errors: [],
  selected: null,          // {kind: 'stage', key} | {kind: 'route', index} | {kind: 'start'}
  undo: [], redo: [],
  types: [], typeByKey: {},
  fields: [], processes: [], splits: [], people: { teams: [], users: [] },
  counts: {},
  saving: false, dirty: false, again: false, conflict: null,
  currentVersion: root.dataset.currentVersion ? Number(root.dataset.currentVersion) : null,
};
window.builderState = state;   // handy for debugging and browser tests

export const view = { renderLane() {}, renderPanel() {}, assignmentsEditor: null };

export const stageIndex = (key) => state.def.stages.findIndex((s) => s.key === key);
export const stageByKey = (key) => state.def.stages.find((s) => s.key === key);
export const errorsFor = (prefix) => model.errorsFor(state.errors, prefix);
export function stageErrors(key) { const i = stageIndex(key); return i < 0 ? [] : errorsFor(`stages[${i}]`); }
export const columns = () => model.columns(state.def.stages);
export function setColumns(cols) { state.def.stages = model.fromColumns(cols); }

// the draft as the server last sent it (definition, revision, validation errors)
export function adopt(d) {
  state.def = { stages: [], routes: [], ...model.clone(d.definition) };
  state.revision = d.revision;
  state.errors = d.errors || [];
}

export function focusCard(key) { $('#lane').querySelector(`.card[data-key="${CSS.escape(key)}"]`)?.focus(); }

export function showNotice(text, kind = '') {
  const n = $('#notice');
  n.hidden = !text; n.textContent = text; n.className = `b-banner ${kind}`;
}

// the Version badge beside the Process name
export function showVersion(number) { $('h1 .badge').textContent = `v${number}`; }
