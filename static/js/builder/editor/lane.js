// The lane: columns of Stage cards (parallel Stages share a column) with their Route chips and live
// counts, drag and drop with SortableJS (fallback mode), the palette of stage types, and adding,
// moving and deleting Stages. `Sortable` is the vendored Sortable.min.js (a classic script).
import { $, el } from '../../lib/dom.js';
import * as model from './model.js';
import {
  CAN_EDIT, columns, errorsFor, focusCard, setColumns, showNotice, stageByKey, stageErrors, state,
} from './state.js';
import { commit, select } from './history.js';
import { icon } from './icons.js';
import { refLabel } from './pickers.js';

const lane = $('#lane');
const EXTERNAL = { none: null, status: 'portal: status', action: 'portal: action' };

const newStage = (type) => model.newStage(state.def.stages, type, state.typeByKey[type]);

// cards are reused across renders (same node per Stage key) so focus and SortableJS state survive
let reuse = new Map();
function card(s) {
  const node = buildCard(s);
  const old = reuse.get(s.key);
  if (!old) return node;
  reuse.delete(s.key);
  old.className = node.className;
  old.setAttribute('aria-label', node.getAttribute('aria-label'));
  if (old.innerHTML !== node.innerHTML) old.replaceChildren(...node.childNodes);
  return old;
}

function buildCard(s) {
  const t = state.typeByKey[s.type] || { icon: '?', name: s.type };
  const errs = stageErrors(s.key);
  const sla = s.approval?.sla?.due || s.sla?.due;
  const responsible = (s.roles?.responsible || []).map(refLabel).join(', ');
  const counts = state.counts[s.key];
  const routes = state.def.routes.map((r, i) => [r, i]).filter(([r]) => r.stage === s.key);
  const selected = state.selected?.kind === 'stage' && state.selected.key === s.key;
  return el('div', {
    // a group, not a button: it holds buttons of its own (its Route chips); Enter or Space opens it
    class: `card${selected ? ' selected' : ''}${errs.length ? ' has-error' : ''}`, tabindex: 0, role: 'group',
    dataset: { key: s.key }, 'aria-label': `Stage ${s.name}`, 'aria-roledescription': 'stage card',
    'aria-keyshortcuts': 'Enter Delete Alt+ArrowLeft Alt+ArrowRight Alt+ArrowUp Alt+ArrowDown',
    onclick: (e) => { if (!e.target.closest('.route-chip')) select({ kind: 'stage', key: s.key }); },
  },
  el('div', { class: 'card-head' }, icon(t), el('span', { class: 'name' }, s.name)),
  el('div', { class: 'card-meta muted' }, `${t.name}${sla ? ` · SLA ${sla}` : ''}`),
  responsible ? el('div', { class: 'card-meta resp', title: 'Responsible' }, `● ${responsible}`) : null,
  el('div', { class: 'badges' },
    s.approval?.required ? el('span', { class: 'badge approval' }, '✔ approval') : null,
    s.gate ? el('span', { class: 'badge gate' }, `gate: ${s.gate.type}`) : null,
    EXTERNAL[s.visibility?.external] ? el('span', { class: 'badge vis' }, EXTERNAL[s.visibility.external]) : null,
    s.start_when ? el('span', { class: 'badge cond', title: s.start_when }, 'start when') : null,
    s.skip_when ? el('span', { class: 'badge cond', title: s.skip_when }, 'skip when') : null),
  counts ? el('div', { class: 'counts' },
    el('span', { title: 'waiting', class: 'c-wait' }, `waiting ${counts.waiting}`),
    el('span', { title: 'in progress', class: 'c-prog' }, `active ${counts.in_progress}`),
    el('span', { title: 'awaiting approval', class: 'c-appr' }, `approval ${counts.awaiting_approval}`),
    el('span', { title: 'failed', class: 'c-fail' }, `failed ${counts.failed}`)) : null,
  errs.length ? el('ul', { class: 'card-errors' }, ...errs.map((e) => el('li', {}, `${e.message}`))) : null,
  routes.length ? el('div', { class: 'routes' }, ...routes.map(([r, i]) => routeChip(r, i))) : null);
}

export function routeChip(r, i) {
  const errs = errorsFor(`routes[${i}]`);
  const sel = state.selected?.kind === 'route' && state.selected.index === i;
  return el('button', {
    type: 'button', class: `route-chip${errs.length ? ' has-error' : ''}${sel ? ' selected' : ''}`, dataset: { route: r.key || i },
    title: errs.map((e) => e.message).join('\n') || `${r.name || r.key}: ${model.triggerLabel(r, state.fields)}`,
    onclick: (e) => { e.stopPropagation(); select({ kind: 'route', index: i }); },
  }, el('span', { class: 'r-name' }, r.name || r.key), ' → ',
  el('strong', {}, model.targetLabel(r, { processes: state.processes, splits: state.splits, stages: state.def.stages })),
  el('span', { class: 'trigger' }, model.triggerLabel(r, state.fields)));
}

// While a pointer is pressed the lane is not rebuilt (a blur → change must not swallow the click
// that caused it); the deferred render runs right after the click.
// Nor while a drag is under way: an autosave answering mid-drag would rebuild the lists under SortableJS.
let pressed = false, deferred = false, dragging = false;
const dragStart = () => { dragging = true; lane.classList.add('dragging'); };
const dragStop = () => {
  dragging = false; lane.classList.remove('dragging');
  if (deferred) { deferred = false; setTimeout(renderLane, 0); }
};
document.addEventListener('pointerdown', () => { pressed = true; }, true);
document.addEventListener('pointerup', () => {
  pressed = false;
  if (deferred) { deferred = false; setTimeout(renderLane, 0); }
}, true);

export function renderLane() {
  if (dragging || (pressed && !document.querySelector('.sortable-fallback, .sortable-ghost'))) { deferred = true; return; }
  reuse = new Map([...lane.querySelectorAll('.card[data-key]')].map((n) => [n.dataset.key, n]));
  const cols = columns();
  // between two columns (and before the first) a narrow drop zone: a stage dropped there becomes a
  // column of its own at that position; setColumns renumbers the later ones
  const gap = (i) => (CAN_EDIT && cols.length ? el('div', { class: 'col-gap', title: `Drop here to insert a new column ${i + 1}` },
    el('div', { class: 'cards gap', dataset: { col: `gap-${i}` } })) : '');
  lane.replaceChildren(
    ...cols.flatMap((stages, i) => [gap(i), el('div', { class: 'column', dataset: { col: i } },
      el('div', { class: 'col-head muted' }, stages.length > 1 ? `Column ${i + 1} · parallel` : `Column ${i + 1}`),
      el('div', { class: 'cards', dataset: { col: i } }, ...stages.map(card)))]),
    CAN_EDIT ? el('div', { class: 'column new' }, el('div', { class: 'col-head muted' }, 'New column'),
      el('div', { class: 'cards', dataset: { col: 'new' } }, el('div', { class: 'drop-hint muted' }, 'Drop a stage type here'))) : '',
  );
  if (!cols.length) lane.prepend(el('div', { class: 'empty muted' }, CAN_EDIT ? 'This lane is empty: drag a stage type from the palette, or press “+ Add stage”.' : 'No stages yet.'));
  const pr = state.def.routes.map((r, i) => [r, i]).filter(([r]) => !r.stage || !stageByKey(r.stage));
  $('#process-routes').replaceChildren(...(pr.length ? [el('span', { class: 'muted' }, 'Whole-process routes:'), ...pr.map(([r, i]) => routeChip(r, i))] : []));
  const general = model.generalErrors(state.errors);
  if (general.length) showNotice(general.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`).join(' · '), 'error');
  else if ($('#notice').classList.contains('error')) showNotice('');
  if (CAN_EDIT) makeSortable();
}

let sortables = [];
function makeSortable() {
  sortables.forEach((s) => s.destroy());
  sortables = [...lane.querySelectorAll('.cards')].map((node) => Sortable.create(node, {
    group: 'lane', animation: 120, forceFallback: true, fallbackTolerance: 3, filter: '.drop-hint, .route-chip', preventOnFilter: false,
    onStart: dragStart,
    onEnd: () => { dragStop(); syncFromDom(); },
    onAdd: (e) => { if (e.pullMode === 'clone') syncFromDom(); },
  }));
}

function syncFromDom() {
  dragging = false; lane.classList.remove('dragging');
  const byKey = Object.fromEntries(state.def.stages.map((s) => [s.key, s]));
  let added = null;
  const cols = [...lane.querySelectorAll('.cards')].map((node) => [...node.children].map((c) => {
    if (c.dataset.key) return byKey[c.dataset.key];
    if (c.dataset.type) {
      const s = newStage(c.dataset.type);
      byKey[s.key] = s; added = s.key;
      return s;
    }
    return null;
  }).filter(Boolean));
  commit(() => { setColumns(cols); if (added) state.selected = { kind: 'stage', key: added }; });
  if (added) renderPalette();
}

let paletteSortable = null;
export function renderPalette() {
  const node = $('#palette');
  if (!node) return;
  node.replaceChildren(...state.types.map((t) => el('div', {
    // its name is its visible text; what Enter does is in its description
    class: 'type', dataset: { type: t.key }, title: `${t.description || t.name} (Enter adds it at the end)`, tabindex: 0, role: 'button',
    'aria-description': `Adds a ${t.name} stage at the end of the lane`,
    ondblclick: () => addStage(t.key),
    onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); addStage(t.key, { atEnd: true }); } },
  }, icon(t), el('span', { class: 't-name' }, t.name, t.automated ? el('span', { class: 't-auto muted' }, 'automated') : '',
    t.available === false ? el('span', { class: 't-off', title: t.unavailable_reason || '' }, 'cannot run on this server') : ''))));
  if (!paletteSortable) {
    paletteSortable = Sortable.create(node, {
      group: { name: 'lane', pull: 'clone', put: false }, sort: false, forceFallback: true, fallbackTolerance: 3,
      onStart: dragStart, onEnd: dragStop,
    });
  }
}

export function addStage(type = 'basic', { atEnd = false } = {}) {
  const s = newStage(type);
  commit(() => {
    const cols = columns();
    const i = !atEnd && state.selected?.kind === 'stage' ? cols.findIndex((c) => c.some((x) => x.key === state.selected.key)) : -1;
    if (i >= 0) cols.splice(i + 1, 0, [s]); else cols.push([s]);
    setColumns(cols);
    state.selected = { kind: 'stage', key: s.key };
  });
  focusCard(s.key);
}

export function moveStage(key, dir) {
  commit(() => {
    const cols = columns();
    const i = cols.findIndex((c) => c.some((x) => x.key === key));
    const s = stageByKey(key);
    if (cols[i].length > 1) {  // leave the parallel group into a new column beside it
      cols[i] = cols[i].filter((x) => x !== s);
      cols.splice(dir < 0 ? i : i + 1, 0, [s]);
    } else {
      const j = i + dir;
      if (j < 0 || j >= cols.length) return;
      [cols[i], cols[j]] = [cols[j], cols[i]];
    }
    setColumns(cols);
  });
  focusCard(key);
}

export function deleteStage(key) {
  commit(() => {
    state.def.stages = state.def.stages.filter((s) => s.key !== key);
    setColumns(columns());
    state.selected = null;
  });
}

// Enter or Space on a focused card opens it in the panel
lane.addEventListener('keydown', (e) => {
  const c = e.target.closest('.card');
  if (c && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); select({ kind: 'stage', key: c.dataset.key }); }
});
