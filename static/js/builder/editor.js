// The lane editor: palette, lane of columns of Stage cards, Stage / Route panel, autosave, presence,
// versions, diff, live counts. Talks to /api/v1 with the session cookie and the CSRF header.
import { api, ApiError, el } from './api.js';
import { conditionEditor } from './conditions.js';

const root = document.getElementById('builder');
const KEY = root.dataset.key;
const PID = root.dataset.id;
const CAN_EDIT = root.dataset.canEdit === 'true';
const ME = Number(root.dataset.userId);
const LS_KEY = `procly:draft:${KEY}`;
const $ = (sel) => document.querySelector(sel);

const state = {
  def: { stages: [], routes: [] },
  revision: 0,
  errors: [],
  selected: null,          // {kind: 'stage', key} | {kind: 'route', index}
  undo: [], redo: [],
  types: [], typeByKey: {},
  fields: [], processes: [], splits: [],
  counts: {},
  saving: false, dirty: false, again: false, conflict: null,
  currentVersion: root.dataset.currentVersion ? Number(root.dataset.currentVersion) : null,
};
window.builderState = state;   // handy for debugging and browser tests

// ---------------------------------------------------------------- helpers
const clone = (x) => JSON.parse(JSON.stringify(x));
const list = (s) => String(s || '').split(/[,\n]/).map((x) => x.trim()).filter(Boolean);
const stageIndex = (key) => state.def.stages.findIndex((s) => s.key === key);
const stageByKey = (key) => state.def.stages.find((s) => s.key === key);

function columns(stages = state.def.stages) {
  const cols = [];
  let prev = -1;
  for (const s of stages) {
    const c = Number.isInteger(s.column) ? s.column : prev + 1;
    prev = c;
    if (!cols.length || cols[cols.length - 1].col !== c) cols.push({ col: c, stages: [] });
    cols[cols.length - 1].stages.push(s);
  }
  return cols.map((c) => c.stages);
}

function setColumns(cols) {
  const stages = [];
  cols.filter((c) => c.length).forEach((c, i) => c.forEach((s) => { s.column = i; stages.push(s); }));
  state.def.stages = stages;
}

function uniqueKey(base) {
  const taken = new Set(state.def.stages.map((s) => s.key));
  base = base.replace(/[^a-z0-9_]/g, '_').replace(/^[^a-z]+/, '') || 'stage';
  for (let n = 1; ; n++) { const k = `${base}_${n}`; if (!taken.has(k)) return k; }
}

function newStage(type) {
  const t = state.typeByKey[type] || { name: type };
  const key = uniqueKey(type);
  return {
    key, name: `${t.name} ${key.split('_').pop()}`, type, config: {}, reads: [], writes: [],
    visibility: { internal: { teams: [], roles: [] }, external: 'none' },
    roles: { responsible: [], approver: [], informed: [], delegator: [] },
  };
}

// Stage-type icons are inline SVG (Chromium here has no emoji font): a known pictograph or type key
// maps to a drawn glyph; anything else gets a letter badge tinted from the type's key.
const SVG = {
  check: '<rect x="3.5" y="3.5" width="17" height="17" rx="3.5"/><path d="M8 12.5l3 3 5.5-6.5"/>',
  form: '<path d="M6 3.5h8.5l3.5 3.5v13.5H6z"/><path d="M14.5 3.5V7H18M9 11h6M9 14h6M9 17h4"/>',
  code: '<path d="M9 4.5c-2 0-2.8 1-2.8 3v2.2c0 1.2-.8 2.3-2.2 2.3 1.4 0 2.2 1.1 2.2 2.3v2.2c0 2 .8 3 2.8 3M15 4.5c2 0 2.8 1 2.8 3v2.2c0 1.2.8 2.3 2.2 2.3-1.4 0-2.2 1.1-2.2 2.3v2.2c0 2-.8 3-2.8 3"/>',
  mail: '<rect x="3.5" y="5.5" width="17" height="13" rx="2"/><path d="M4 7l8 6 8-6"/>',
  clock: '<circle cx="12" cy="12" r="8.5"/><path d="M12 7.5V12l3 2"/>',
  globe: '<circle cx="12" cy="12" r="8.5"/><path d="M3.5 12h17M12 3.5c2.5 2.5 3.5 5.5 3.5 8.5s-1 6-3.5 8.5c-2.5-2.5-3.5-5.5-3.5-8.5s1-6 3.5-8.5"/>',
  approve: '<path d="M12 3.5l7 3v5.5c0 4.2-3 7.2-7 8.5-4-1.3-7-4.3-7-8.5V6.5z"/><path d="M9 12l2.2 2.2L15.5 10"/>',
};
const ICON_OF = {
  '☑': 'check', '✅': 'check', '✔': 'check', '📝': 'form', '🗒': 'form', 'ƒ': 'code', '⚙': 'code', '🧮': 'code',
  '✉': 'mail', '📧': 'mail', '⏱': 'clock', '⏰': 'clock', '🌐': 'globe', '🔗': 'globe', '🛡': 'approve',
  basic: 'check', form: 'form', compute: 'code', email: 'mail', timer: 'clock', wait: 'clock', http: 'globe', webhook: 'globe', approval: 'approve',
};
const hue = (str) => [...String(str)].reduce((h, c) => (h * 31 + c.codePointAt(0)) % 360, 7);
function icon(t) {
  const name = t?.name || t?.key || '?';
  const glyph = ICON_OF[[...(t?.icon || '')][0]] || ICON_OF[t?.key];
  const h = hue(t?.key || name);
  const style = `--ic-bg:hsl(${h} 70% 93%);--ic-fg:hsl(${h} 55% 34%)`;
  if (glyph) {
    const span = el('span', { class: 'icon svg', title: name, 'aria-hidden': 'true', style, dataset: { glyph } });
    span.innerHTML = `<svg viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">${SVG[glyph]}</svg>`;
    return span;
  }
  return el('span', { class: 'icon letter', title: name, 'aria-hidden': 'true', style, dataset: { glyph: 'letter' } }, name.trim()[0]?.toUpperCase() || '?');
}

function snapshot() { return JSON.stringify(state.def); }

// every change goes through commit: undo snapshot, apply, re-render, autosave
function commit(mutate, { panel = true } = {}) {
  if (!CAN_EDIT) return;
  const before = snapshot();
  mutate();
  if (snapshot() === before) { renderLane(); if (panel) renderPanel(); return; }   // nothing changed
  state.undo.push(before);
  if (state.undo.length > 200) state.undo.shift();
  state.redo = [];
  renderLane();
  if (panel) renderPanel();
  scheduleSave();
}

function undo() {
  if (!state.undo.length) return;
  state.redo.push(snapshot());
  state.def = JSON.parse(state.undo.pop());
  afterHistory();
}
function redo() {
  if (!state.redo.length) return;
  state.undo.push(snapshot());
  state.def = JSON.parse(state.redo.pop());
  afterHistory();
}
function afterHistory() {
  if (state.selected?.kind === 'stage' && !stageByKey(state.selected.key)) state.selected = null;
  if (state.selected?.kind === 'route' && !state.def.routes[state.selected.index]) state.selected = null;
  renderLane(); renderPanel(); scheduleSave();
}

// ---------------------------------------------------------------- errors
function errorsFor(prefix) {
  return state.errors.filter((e) => e.path === prefix || e.path.startsWith(`${prefix}.`) || e.path.startsWith(`${prefix}[`));
}
function stageErrors(key) { const i = stageIndex(key); return i < 0 ? [] : errorsFor(`stages[${i}]`); }
function sectionOf(path) {
  const m = path.match(/^(?:stages|routes)\[\d+\]\.?([a-z_]+)?/);
  return (m && m[1]) || 'key';
}

// ---------------------------------------------------------------- lane
const lane = $('#lane');
const EXTERNAL = { none: null, status: 'portal: status', action: 'portal: action' };

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
  const responsible = (s.roles?.responsible || []).join(', ');
  const counts = state.counts[s.key];
  const routes = state.def.routes.map((r, i) => [r, i]).filter(([r]) => r.stage === s.key);
  const selected = state.selected?.kind === 'stage' && state.selected.key === s.key;
  return el('div', {
    class: `card${selected ? ' selected' : ''}${errs.length ? ' has-error' : ''}`, tabindex: 0, role: 'button',
    dataset: { key: s.key }, 'aria-label': `Stage ${s.name}`,
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

function triggerLabel(r) {
  const t = r.trigger || {};
  if (t.type === 'stage_failed') return 'if failed';
  if (t.type === 'approval_rejected') return 'if rejected';
  return t.condition || 'condition';
}

function routeChip(r, i) {
  const split = r.target?.split ? state.splits.find((x) => x.key === r.target.split) : null;
  const target = r.target?.split ? `split: ${split ? split.name : r.target.split}` : r.target?.process || '?';
  const proc = r.target?.split ? null : state.processes.find((p) => p.key === r.target?.process);
  const errs = errorsFor(`routes[${i}]`);
  const sel = state.selected?.kind === 'route' && state.selected.index === i;
  return el('button', {
    type: 'button', class: `route-chip${errs.length ? ' has-error' : ''}${sel ? ' selected' : ''}`, dataset: { route: r.key || i },
    title: errs.map((e) => e.message).join('\n') || `${r.name || r.key}: ${triggerLabel(r)}`,
    onclick: (e) => { e.stopPropagation(); select({ kind: 'route', index: i }); },
  }, el('span', { class: 'r-name' }, r.name || r.key), ' → ', el('strong', {}, proc ? proc.name : target),
  r.target?.stage ? `:${r.target.stage}` : '', el('span', { class: 'trigger' }, triggerLabel(r)));
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

function renderLane() {
  if (dragging || (pressed && !document.querySelector('.sortable-fallback, .sortable-ghost'))) { deferred = true; return; }
  reuse = new Map([...lane.querySelectorAll('.card[data-key]')].map((n) => [n.dataset.key, n]));
  const cols = columns();
  // between two columns (and before the first) a narrow drop zone: a stage dropped there becomes a
  // column of its own at that position; setColumns renumbers the later ones
  const gap = (i) => (CAN_EDIT && cols.length ? el('div', { class: 'col-gap', title: `Drop here to insert a new column ${i + 1}` },
    el('div', { class: 'cards gap', dataset: { col: `gap-${i}` }, 'aria-label': `Insert a column before column ${i + 1}` })) : '');
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
  const general = state.errors.filter((e) => !/^(stages|routes)\[\d+\]/.test(e.path));
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
function renderPalette() {
  const node = $('#palette');
  if (!node) return;
  node.replaceChildren(...state.types.map((t) => el('div', {
    class: 'type', dataset: { type: t.key }, title: `${t.description || t.name} (Enter adds it at the end)`, tabindex: 0, role: 'button',
    'aria-label': `Add a ${t.name} stage at the end of the lane`,
    ondblclick: () => addStage(t.key),
    onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); addStage(t.key, { atEnd: true }); } },
  }, icon(t), el('span', { class: 't-name' }, t.name, t.automated ? el('span', { class: 't-auto muted' }, 'automated') : ''))));
  if (!paletteSortable) {
    paletteSortable = Sortable.create(node, {
      group: { name: 'lane', pull: 'clone', put: false }, sort: false, forceFallback: true, fallbackTolerance: 3,
      onStart: dragStart, onEnd: dragStop,
    });
  }
}

function addStage(type = 'basic', { atEnd = false } = {}) {
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

function moveStage(key, dir) {
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

function deleteStage(key) {
  commit(() => {
    state.def.stages = state.def.stages.filter((s) => s.key !== key);
    setColumns(columns());
    state.selected = null;
  });
}

function focusCard(key) { lane.querySelector(`.card[data-key="${CSS.escape(key)}"]`)?.focus(); }

function select(sel) {
  state.selected = sel;
  renderLane(); renderPanel();
  if (sel?.kind === 'stage') focusCard(sel.key);
}

// ---------------------------------------------------------------- panel
const panel = $('#panel');

function section(title, name, ...body) {
  const i = state.selected?.kind === 'stage' ? stageIndex(state.selected.key) : state.selected?.index;
  const prefix = state.selected?.kind === 'stage' ? `stages[${i}]` : `routes[${i}]`;
  const errs = errorsFor(prefix).filter((e) => [].concat(name).includes(sectionOf(e.path)));
  return el('section', { class: `p-sec${errs.length ? ' has-error' : ''}`, dataset: { section: [].concat(name)[0] } },
    el('h4', {}, title), ...body,
    errs.length ? el('ul', { class: 'field-errors' }, ...errs.map((e) => el('li', { dataset: { path: e.path } }, e.message))) : null);
}

function input(label, value, onChange, attrs = {}) {
  return el('label', {}, label, el('input', { value: value ?? '', ...attrs, onchange: (e) => onChange(e.target.value) }));
}

// update the selected stage in place; the panel is not rebuilt so focus stays where it is
function upd(fn, opts = { panel: false }) {
  const key = state.selected.key;
  commit(() => fn(stageByKey(key)), opts);
}

function configForm(s) {
  const schema = state.typeByKey[s.type]?.config_schema || { properties: {} };
  const cfg = s.config || {};
  const out = [];
  for (const [name, prop] of Object.entries(schema.properties || {})) {
    const label = name.replace(/_/g, ' ');
    const help = prop.description ? el('small', { class: 'muted' }, prop.description) : null;
    const set = (v) => upd((st) => { st.config = { ...(st.config || {}) }; if (v === undefined) delete st.config[name]; else st.config[name] = v; });
    if (prop.type === 'array') {
      const ta = el('textarea', { rows: 3, name: `config.${name}`, placeholder: 'one per line', onchange: (e) => set(list(e.target.value)) });
      ta.value = (cfg[name] || []).join('\n');
      out.push(el('label', {}, label, ta, help));
    } else if (prop.type === 'object') {
      const rows = Object.entries(cfg[name] || {});
      const box = el('div', { class: 'kv', dataset: { name } });
      const write = () => {
        const obj = {};
        box.querySelectorAll('.kv-row').forEach((r) => { const k = r.children[0].value.trim(); if (k) obj[k] = r.children[1].value; });
        set(obj);
      };
      const row = (k = '', v = '') => el('div', { class: 'kv-row' },
        el('input', { value: k, placeholder: 'key', 'aria-label': `${label} key`, onchange: write }),
        el('input', { value: v, placeholder: 'value', 'aria-label': `${label} value`, onchange: write }),
        el('button', { type: 'button', class: 'link', onclick: (e) => { e.target.parentElement.remove(); write(); } }, '✕'));
      rows.forEach(([k, v]) => box.append(row(k, v)));
      out.push(el('div', { class: 'field' }, el('span', { class: 'lbl' }, label), help, box,
        el('button', { type: 'button', class: 'link', onclick: () => box.append(row()) }, '+ row')));
    } else if (prop.type === 'boolean') {
      out.push(el('label', { class: 'check' }, el('input', { type: 'checkbox', checked: !!cfg[name], onchange: (e) => set(e.target.checked) }), ` ${label}`));
    } else if (prop.type === 'integer' || prop.type === 'number') {
      out.push(input(label, cfg[name], (v) => set(v === '' ? undefined : Number(v)), { type: 'number', name: `config.${name}` }));
    } else {
      const ta = el('textarea', { rows: name === 'instructions' ? 3 : 1, name: `config.${name}`, onchange: (e) => set(e.target.value) });
      ta.value = cfg[name] ?? '';
      out.push(el('label', {}, label, ta, help));
    }
  }
  return out.length ? out : [el('p', { class: 'muted small' }, 'This type has no settings.')];
}

function fieldsTable(s) {
  const reads = new Set(s.reads || []), writes = new Set(s.writes || []);
  const toggle = (which, key, on) => upd((st) => {
    const set = new Set(st[which] || []);
    if (on) set.add(key); else set.delete(key);
    st[which] = state.fields.map((f) => f.key).filter((k) => set.has(k)).concat([...set].filter((k) => !state.fields.some((f) => f.key === k)));
  });
  const unknown = [...new Set([...reads, ...writes])].filter((k) => !state.fields.some((f) => f.key === k));
  return el('table', { class: 'fields' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Field'), el('th', {}, 'read'), el('th', {}, 'write'))),
    el('tbody', {}, ...state.fields.map((f) => el('tr', {},
      el('td', {}, f.name, el('span', { class: 'muted small' }, ` ${f.type}`)),
      el('td', {}, el('input', { type: 'checkbox', name: `reads.${f.key}`, 'aria-label': `read ${f.key}`, checked: reads.has(f.key), onchange: (e) => toggle('reads', f.key, e.target.checked) })),
      el('td', {}, el('input', { type: 'checkbox', name: `writes.${f.key}`, 'aria-label': `write ${f.key}`, checked: writes.has(f.key), onchange: (e) => toggle('writes', f.key, e.target.checked) })))),
    ...unknown.map((k) => el('tr', { class: 'unknown' }, el('td', {}, el('s', {}, k), el('span', { class: 'err small' }, ' deleted field')),
      el('td', {}, el('input', { type: 'checkbox', checked: reads.has(k), 'aria-label': `read ${k}`, onchange: (e) => toggle('reads', k, e.target.checked) })),
      el('td', {}, el('input', { type: 'checkbox', checked: writes.has(k), 'aria-label': `write ${k}`, onchange: (e) => toggle('writes', k, e.target.checked) }))))));
}

function durationInput(label, value, onChange, name) {
  return input(label, value, (v) => onChange(v.trim() || null), { name, placeholder: 'e.g. 48h', pattern: '\\d+[smhd]' });
}

// `get` reads the live value: the panel is not rebuilt between edits
function slaEditor(get, write, prefix) {
  const sla = get() || {};
  const set = (k, v) => {
    const next = { ...(get() || {}) };
    if (v === null || (Array.isArray(v) && !v.length)) delete next[k]; else next[k] = v;
    write(Object.keys(next).length ? next : null);
  };
  return el('div', { class: 'row3' },
    durationInput('Due', sla.due, (v) => set('due', v), `${prefix}.due`),
    input('Reminders', (sla.reminders || []).join(', '), (v) => set('reminders', list(v)), { name: `${prefix}.reminders`, placeholder: '24h, 72h' }),
    durationInput('Escalate after', sla.escalate_after, (v) => set('escalate_after', v), `${prefix}.escalate_after`));
}

function renderStagePanel(s) {
  const t = state.typeByKey[s.type] || { name: s.type, icon: '?' };
  const cond = (name, label) => el('div', { class: 'field' }, el('span', { class: 'lbl' }, label),
    conditionEditor({ name, value: s[name], fields: state.fields, disabled: !CAN_EDIT, onChange: (v) => upd((st) => { st[name] = v; }) }));
  const approval = s.approval || null;
  const gate = s.gate || null;
  return [
    el('div', { class: 'p-head' }, el('h3', {}, icon(t), ' ', s.name),
      el('button', { type: 'button', class: 'link', 'aria-label': 'Close panel', onclick: () => select(null) }, '✕')),
    section('Stage', ['key', 'name', 'type', 'column', 'after'],
      input('Name', s.name, (v) => upd((st) => { st.name = v; }), { name: 'name' }),
      input('Key', s.key, (v) => renameStage(s.key, v), { name: 'key', pattern: '[a-z][a-z0-9_]*' }),
      el('div', { class: 'muted small' }, `Type: ${t.name}`)),
    section('Settings', 'config', ...configForm(s)),
    section('Fields', ['reads', 'writes'], fieldsTable(s)),
    section('Visibility', 'visibility',
      el('label', {}, 'External (portal)', el('select', { name: 'visibility.external', onchange: (e) => upd((st) => { st.visibility = { ...(st.visibility || {}), external: e.target.value }; }) },
        ...[['none', 'none'], ['status', 'status only'], ['action', 'action (portal UI)']].map(([v, l]) => el('option', { value: v, selected: (s.visibility?.external || 'none') === v }, l)))),
      input('Internal: teams', (s.visibility?.internal?.teams || []).join(', '), (v) => upd((st) => { st.visibility = { external: 'none', ...(st.visibility || {}) }; st.visibility.internal = { ...(st.visibility.internal || {}), teams: list(v) }; }), { name: 'visibility.teams', placeholder: 'Intake, Compliance' }),
      input('Internal: roles', (s.visibility?.internal?.roles || []).join(', '), (v) => upd((st) => { st.visibility = { external: 'none', ...(st.visibility || {}) }; st.visibility.internal = { ...(st.visibility.internal || {}), roles: list(v) }; }), { name: 'visibility.roles', placeholder: 'staff, manager' })),
    section('Approval', 'approval',
      el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'approval.required', checked: !!approval?.required, onchange: (e) => upd((st) => { st.approval = e.target.checked ? { required: true, approvers: [], ...(st.approval || {}), required: true } : null; }, { panel: true }) }), ' Requires approval'),
      approval?.required ? [
        input('Approvers', (approval.approvers || []).join(', '), (v) => upd((st) => { st.approval.approvers = list(v); }), { name: 'approval.approvers', placeholder: 'team:Compliance' }),
        el('label', { class: 'check', title: 'Four-eyes: whoever completed the Stage may not approve or reject it' },
          el('input', { type: 'checkbox', name: 'approval.four_eyes', checked: approval.four_eyes !== false, onchange: (e) => upd((st) => { if (e.target.checked) delete st.approval.four_eyes; else st.approval.four_eyes = false; }) }),
          ' Four-eyes (approver ≠ who completed it)'),
        el('div', { class: 'lbl' }, 'Approval SLA'),
        slaEditor(() => stageByKey(state.selected.key)?.approval?.sla, (sla) => upd((st) => { if (sla) st.approval.sla = sla; else delete st.approval.sla; }), 'approval.sla'),
      ] : null),
    section('Stage SLA', 'sla', slaEditor(() => stageByKey(state.selected.key)?.sla, (sla) => upd((st) => { st.sla = sla; }), 'sla')),
    section('Roles (RAID)', 'roles', ...['responsible', 'approver', 'informed', 'delegator'].map((r) =>
      input(r[0].toUpperCase() + r.slice(1), (s.roles?.[r] || []).join(', '), (v) => upd((st) => { st.roles = { responsible: [], approver: [], informed: [], delegator: [], ...(st.roles || {}), [r]: list(v) }; }), { name: `roles.${r}`, placeholder: 'team:Intake, user:a@b.c' }))),
    section('Retry', 'retry', el('div', { class: 'row3' },
      input('Attempts', s.retry?.attempts ?? 1, (v) => upd((st) => { st.retry = { ...(st.retry || {}), attempts: Number(v) || 1 }; }), { type: 'number', min: 1, name: 'retry.attempts' }),
      durationInput('Backoff', s.retry?.backoff ?? '10s', (v) => upd((st) => { st.retry = { ...(st.retry || {}), backoff: v || '10s' }; }), 'retry.backoff'),
      input('Factor', s.retry?.factor ?? 2, (v) => upd((st) => { st.retry = { ...(st.retry || {}), factor: Number(v) || 1 }; }), { type: 'number', step: '0.5', name: 'retry.factor' }))),
    section('Conditions', ['start_when', 'skip_when'], cond('start_when', 'Start when'), cond('skip_when', 'Skip when')),
    section('Gate', 'gate',
      el('select', { name: 'gate.type', 'aria-label': 'Gate', onchange: (e) => upd((st) => { st.gate = e.target.value ? { ...(st.gate || {}), type: e.target.value } : null; }, { panel: true }) },
        ...[['', 'no gate'], ['approval', 'approval'], ['condition', 'condition'], ['manual', 'manual advance']].map(([v, l]) => el('option', { value: v, selected: (gate?.type || '') === v }, l))),
      gate?.type === 'condition' ? conditionEditor({ name: 'gate', value: gate.condition, fields: state.fields, disabled: !CAN_EDIT, onChange: (v) => upd((st) => { st.gate.condition = v; }) }) : null,
      gate?.type === 'approval' ? input('Gate approvers', (gate.approvers || []).join(', '), (v) => upd((st) => { st.gate.approvers = list(v); }), { name: 'gate.approvers' }) : null),
    section('Routes from this stage', 'routes',
      ...state.def.routes.map((r, i) => [r, i]).filter(([r]) => r.stage === s.key).map(([r, i]) => routeChip(r, i)),
      CAN_EDIT ? el('button', { type: 'button', class: 'link', onclick: () => addRoute(s.key) }, '+ Add route') : null),
    CAN_EDIT ? el('button', { type: 'button', class: 'secondary danger', onclick: () => deleteStage(s.key) }, 'Delete stage') : null,
  ];
}

function renameStage(oldKey, newKey) {
  newKey = newKey.trim();
  if (!newKey || newKey === oldKey) return;
  commit(() => {
    for (const st of state.def.stages) {
      if (st.key === oldKey) st.key = newKey;
      if (st.after) st.after = st.after.map((k) => (k === oldKey ? newKey : k));
    }
    for (const r of state.def.routes) if (r.stage === oldKey) r.stage = newKey;
    state.selected = { kind: 'stage', key: newKey };
  });
}

function addRoute(stageKey = null) {
  const taken = new Set(state.def.routes.map((r) => r.key));
  let n = 1; while (taken.has(`route_${n}`)) n++;
  const target = state.processes.find((p) => p.key !== KEY);
  commit(() => {
    state.def.routes.push({ key: `route_${n}`, name: `Route ${n}`, stage: stageKey, trigger: { type: 'condition', condition: null }, target: { process: target?.key || '' } });
    state.selected = { kind: 'route', index: state.def.routes.length - 1 };
  });
}

function renderRoutePanel(i) {
  const r = state.def.routes[i];
  const set = (fn, panelToo = false) => commit(() => fn(state.def.routes[i]), { panel: panelToo });
  return [
    el('div', { class: 'p-head' }, el('h3', {}, '↪ Route'), el('button', { type: 'button', class: 'link', 'aria-label': 'Close panel', onclick: () => select(null) }, '✕')),
    section('Route', ['key', 'name'],
      input('Name', r.name, (v) => set((x) => { x.name = v; }), { name: 'route.name' }),
      input('Key', r.key, (v) => set((x) => { x.key = v.trim(); }), { name: 'route.key' })),
    section('Source', 'stage', el('select', { name: 'route.stage', 'aria-label': 'Source', onchange: (e) => set((x) => { x.stage = e.target.value || null; }, true) },
      el('option', { value: '' }, 'the whole process'),
      ...state.def.stages.map((s) => el('option', { value: s.key, selected: r.stage === s.key }, s.name)))),
    section('Trigger', 'trigger',
      el('select', { name: 'route.trigger', 'aria-label': 'Trigger', onchange: (e) => set((x) => { x.trigger = e.target.value === 'condition' ? { type: 'condition', condition: x.trigger?.condition || null } : { type: e.target.value }; }, true) },
        ...[['condition', 'a condition holds'], ['stage_failed', 'the stage failed'], ['approval_rejected', 'the approval is rejected']].map(([v, l]) => el('option', { value: v, selected: (r.trigger?.type || 'condition') === v }, l))),
      (r.trigger?.type || 'condition') === 'condition' ? conditionEditor({ name: 'trigger', value: r.trigger?.condition, fields: state.fields, disabled: !CAN_EDIT, onChange: (v) => set((x) => { x.trigger = { type: 'condition', condition: v }; }) }) : null),
    section('Target', 'target',
      // one list: Processes by key, Splits as "split:<key>" (Process keys never hold a colon)
      el('select', { name: 'route.target', 'aria-label': 'Target', onchange: (e) => set((x) => {
        const v = e.target.value;
        x.target = v.startsWith('split:') ? { split: v.slice(6) } : { process: v, ...(x.target?.stage && x.target?.process ? { stage: x.target.stage } : {}) };
      }, true) },
        el('option', { value: '' }, '— choose a target —'),
        el('optgroup', { label: 'Processes' },
          ...state.processes.filter((p) => p.key !== KEY).map((p) => el('option', { value: p.key, selected: !r.target?.split && r.target?.process === p.key }, p.name))),
        state.splits.length ? el('optgroup', { label: 'Splits (A/B)' },
          ...state.splits.map((sp) => el('option', { value: `split:${sp.key}`, selected: r.target?.split === sp.key },
            `${sp.name} (${sp.variants.map((v) => `${v.key} ${v.weight}`).join(' / ')})`))) : null),
      r.target?.split
        ? el('p', { class: 'muted small split-note' }, 'Each Task goes to one of the Split\'s variants by weight; it starts at the first stage.')
        : input('Target stage (optional)', r.target?.stage || '', (v) => set((x) => { x.target = { ...(x.target || {}) }; if (v.trim()) x.target.stage = v.trim(); else delete x.target.stage; }), { name: 'route.target_stage', placeholder: 'stage key' })),
    CAN_EDIT ? el('button', { type: 'button', class: 'secondary danger', onclick: () => commit(() => { state.def.routes.splice(i, 1); state.selected = null; }) }, 'Delete route') : null,
  ];
}

// who may start Tasks and which Fields a start sets (the definition's `start`; defaults in
// app/builder/definition.py start_spec): an empty `start` is left out of the document
function firstColumnWrites() {
  let prev = -1;   // an omitted column is the previous one + 1, as the server normalizes it
  const cols = state.def.stages.map((s) => { prev = s.column ?? prev + 1; return prev; });
  const first = cols.length ? Math.min(...cols) : 0;
  return [...new Set(state.def.stages.filter((s, i) => cols[i] === first).flatMap((s) => s.writes || []))];
}

function renderStartPanel() {
  const start = state.def.start || {};
  const set = (fn) => commit(() => {
    const next = { ...(state.def.start || {}) };
    fn(next);
    if (!next.roles?.length) delete next.roles;
    if (!Array.isArray(next.writes)) delete next.writes;
    if (Object.keys(next).length) state.def.start = next; else delete state.def.start;
  });
  const declared = Array.isArray(start.writes);
  const writes = new Set(start.writes || []);
  const toggle = (key, on) => set((x) => { const w = new Set(x.writes || []); if (on) w.add(key); else w.delete(key); x.writes = state.fields.map((f) => f.key).filter((k) => w.has(k)); });
  const errs = errorsFor('start');
  return [
    el('div', { class: 'p-head' }, el('h3', {}, '▶ Starting Tasks'), el('button', { type: 'button', class: 'link', 'aria-label': 'Close panel', onclick: () => select(null) }, '✕')),
    el('section', { class: 'p-sec', dataset: { section: 'start.roles' } }, el('h4', {}, 'Who may start'),
      input('Roles', (start.roles || []).join(', '), (v) => set((x) => { x.roles = list(v); }), { name: 'start.roles', placeholder: `team:${root.dataset.team} (default)` }),
      el('p', { class: 'muted small' }, 'Empty: the owning Team. Admins and the Team\'s designers always may.')),
    el('section', { class: `p-sec${errs.length ? ' has-error' : ''}`, dataset: { section: 'start.writes' } }, el('h4', {}, 'Fields a start may set'),
      el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'start.declared', checked: declared, onchange: (e) => set((x) => { x.writes = e.target.checked ? firstColumnWrites() : null; }) }),
        ' Choose the fields'),
      declared
        ? el('table', { class: 'fields' }, el('tbody', {}, ...state.fields.map((f) => el('tr', {}, el('td', {}, f.name),
          el('td', {}, el('input', { type: 'checkbox', name: `start.writes.${f.key}`, 'aria-label': `start sets ${f.key}`, checked: writes.has(f.key), onchange: (e) => toggle(f.key, e.target.checked) }))))))
        : el('p', { class: 'muted small' }, `Default, what the first column's stages write: ${firstColumnWrites().join(', ') || 'none'}.`),
      errs.length ? el('ul', { class: 'field-errors' }, ...errs.map((e) => el('li', { dataset: { path: e.path } }, e.message))) : null),
  ];
}

function renderPanel() {
  const sel = state.selected;
  let body = null;
  if (sel?.kind === 'stage' && stageByKey(sel.key)) body = renderStagePanel(stageByKey(sel.key));
  else if (sel?.kind === 'route' && state.def.routes[sel.index]) body = renderRoutePanel(sel.index);
  else if (sel?.kind === 'start') body = renderStartPanel();
  panel.hidden = !body;
  if (!body) { panel.replaceChildren(); return; }
  const fs = el('fieldset', { disabled: !CAN_EDIT }, ...body.flat());
  panel.replaceChildren(fs);
}

// ---------------------------------------------------------------- saving
let timer = null;
const saveState = $('#save-state');
function setSaveState(text) { saveState.textContent = text; }

function storeLocal(dirty) {
  try {
    if (dirty) localStorage.setItem(LS_KEY, JSON.stringify({ definition: state.def, revision: state.revision, at: Date.now() }));
    else localStorage.removeItem(LS_KEY);
  } catch (e) { /* storage full or disabled: autosave still runs */ }
}

function scheduleSave() {
  if (!CAN_EDIT) return;
  state.dirty = true;
  storeLocal(true);
  setSaveState('Unsaved changes…');
  if (state.conflict) return;
  clearTimeout(timer);
  timer = setTimeout(save, 700);
}

async function save() {
  clearTimeout(timer);
  if (!state.dirty || state.conflict) return;
  if (state.saving) { state.again = true; return; }
  state.saving = true; state.dirty = false;
  setSaveState('Saving…');
  const sent = snapshot();
  try {
    const res = await api('PUT', `/api/v1/processes/${KEY}/draft`, { definition: JSON.parse(sent), revision: state.revision });
    state.revision = res.revision;
    const errorsBefore = JSON.stringify(state.errors);
    state.errors = res.errors || [];
    if (!state.dirty) storeLocal(false); else storeLocal(true);
    setSaveState(state.errors.length ? `Saved · ${state.errors.length} problem(s)` : 'All changes saved');
    // only the error markers can change: leave the lane alone (and a drag under way) when they did not
    if (JSON.stringify(state.errors) !== errorsBefore) { renderLane(); refreshPanelErrors(); }
  } catch (err) {
    state.dirty = true;
    if (err instanceof ApiError && err.status === 409) showConflict(err.details);
    else setSaveState(`Not saved: ${err.message}`);
  } finally {
    state.saving = false;
    if (state.again) { state.again = false; if (state.dirty) save(); }
  }
}

// only the error lists of the panel change after a save: rebuild it unless the user is typing in it
function refreshPanelErrors() {
  if (!panel.contains(document.activeElement)) renderPanel();
}

function showConflict(details) {
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

async function reloadFromServer() {
  try { localStorage.setItem(`${LS_KEY}:discarded`, JSON.stringify({ definition: state.def, at: Date.now() })); } catch (e) { /* ignore */ }
  const d = await api('GET', `/api/v1/processes/${KEY}/draft`);
  adopt(d);
  storeLocal(false);
  state.conflict = null; state.dirty = false;
  $('#conflict').hidden = true;
  setSaveState('Reloaded');
  renderLane(); renderPanel();
}

async function compareWithServer() {
  const d = await api('GET', `/api/v1/processes/${KEY}/draft`);
  const dlg = $('#versions-dialog');
  $('#versions').replaceChildren(el('p', {}, `Their draft (revision ${d.revision}, by ${d.updated_by || 'someone'}) compared with yours:`));
  renderDiff(d.definition, state.def, localDiff(d.definition, state.def), 'theirs', 'yours');
  $('#diff').append(el('div', { class: 'dlg-actions' },
    el('button', { type: 'button', id: 'keep-mine', onclick: async () => { state.revision = d.revision; state.conflict = null; $('#conflict').hidden = true; dlg.close(); state.dirty = true; await save(); } }, 'Keep mine (save over theirs)'),
    ' ', el('button', { type: 'button', class: 'secondary', onclick: async () => { dlg.close(); await reloadFromServer(); } }, 'Take theirs')));
  if (!dlg.open) dlg.showModal();
}

function localDiff(a, b) {
  const part = (x, y) => {
    const ka = Object.fromEntries((x || []).map((s, i) => [s.key, [i, s]]));
    const kb = Object.fromEntries((y || []).map((s, i) => [s.key, [i, s]]));
    const changed = {};
    for (const k of Object.keys(kb)) {
      if (!ka[k]) continue;
      const keys = [...new Set([...Object.keys(ka[k][1]), ...Object.keys(kb[k][1])])].filter((f) => JSON.stringify(ka[k][1][f]) !== JSON.stringify(kb[k][1][f]));
      if (keys.length) changed[k] = keys;
    }
    return { added: Object.keys(kb).filter((k) => !ka[k]), removed: Object.keys(ka).filter((k) => !kb[k]), changed };
  };
  return { stages: part(a.stages, b.stages), routes: part(a.routes, b.routes) };
}

// ---------------------------------------------------------------- publish, versions, diff
function showNotice(text, kind = '') {
  const n = $('#notice');
  n.hidden = !text; n.textContent = text; n.className = `b-banner ${kind}`;
}

async function publish(note) {
  if (state.dirty || state.saving) { await save(); while (state.saving) await new Promise((r) => setTimeout(r, 50)); }
  if (state.conflict) return 'Resolve the conflict first.';
  try {
    const v = await api('POST', `/api/v1/processes/${KEY}/publish`, { note });
    state.currentVersion = v.number;
    const d = await api('GET', `/api/v1/processes/${KEY}/draft`);
    adopt(d);
    renderLane(); renderPanel();
    document.querySelector('h1 .badge').textContent = `v${v.number}`;
    showNotice(`Published Version ${v.number}.`, 'ok');
    setSaveState('All changes saved');
    joinLive();
    return null;
  } catch (err) {
    if (err instanceof ApiError && err.details?.errors) {
      state.errors = err.details.errors; renderLane(); renderPanel();
      return `${err.details.errors.length} problem(s) must be fixed first: see the marked cards.`;
    }
    return err.message;
  }
}

function initPublish() {
  const dlg = $('#publish-dialog');
  if (!dlg || !$('#publish')) return;
  $('#publish').addEventListener('click', () => { $('#publish-errors').textContent = ''; dlg.querySelector('textarea').value = ''; dlg.showModal(); });
  $('#publish-form').addEventListener('submit', async (e) => {
    if (e.submitter?.value !== 'ok') return;
    e.preventDefault();
    $('#publish-confirm').disabled = true;
    const problem = await publish(dlg.querySelector('textarea').value);
    $('#publish-confirm').disabled = false;
    if (problem) $('#publish-errors').textContent = problem; else dlg.close();
  });
}

async function showVersions() {
  const dlg = $('#versions-dialog');
  const versions = await api('GET', `/api/v1/processes/${KEY}/versions`);
  $('#diff').replaceChildren();
  $('#versions').replaceChildren(versions.length ? el('table', { class: 'grid versions' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Version'), el('th', {}, 'Author'), el('th', {}, 'Published'), el('th', {}, 'Note'), el('th', {}))),
    el('tbody', {}, ...versions.map((v) => el('tr', { dataset: { version: v.number } },
      el('td', {}, `v${v.number}`, v.number === state.currentVersion ? el('span', { class: 'badge' }, 'current') : ''),
      el('td', {}, v.author || '—'), el('td', {}, new Date(v.published_at).toLocaleString()), el('td', {}, v.note || ''),
      el('td', {}, CAN_EDIT && v.number !== state.currentVersion ? el('button', { type: 'button', class: 'secondary', dataset: { rollback: v.number }, onclick: () => rollback(v.number) }, 'Roll back') : ''))))) :
    el('p', { class: 'muted' }, 'Not published yet.'));
  const opts = (sel, pick) => $(sel).replaceChildren(...versions.map((v) => el('option', { value: v.number, selected: v.number === pick }, `v${v.number}`)));
  opts('#cmp-from', versions[1]?.number ?? versions[0]?.number);
  opts('#cmp-to', versions[0]?.number);
  $('.compare-bar').hidden = versions.length < 2;
  if (!dlg.open) dlg.showModal();
}

async function compareVersions() {
  const a = Number($('#cmp-from').value), b = Number($('#cmp-to').value);
  const [d, va, vb] = await Promise.all([api('GET', `/api/v1/processes/${KEY}/diff?from=${a}&to=${b}`),
    api('GET', `/api/v1/processes/${KEY}/versions/${a}`), api('GET', `/api/v1/processes/${KEY}/versions/${b}`)]);
  renderDiff(va.definition, vb.definition, d, `v${a}`, `v${b}`);
}

// the "to" lane with added / changed cards highlighted and removed ones shown as ghosts
function renderDiff(from, to, d, fromLabel, toLabel) {
  const removed = new Set(d.stages.removed), added = new Set(d.stages.added);
  const changed = d.stages.changed || {};
  const fromCols = columns(from.stages || []);
  const cols = columns(to.stages || []).map((c) => c.map((s) => ({ s, kind: added.has(s.key) ? 'added' : changed[s.key] ? 'changed' : 'same' })));
  fromCols.forEach((c, i) => c.filter((s) => removed.has(s.key)).forEach((s) => { (cols[Math.min(i, cols.length)] ||= []).push({ s, kind: 'removed' }); }));
  const mini = ({ s, kind }) => el('div', { class: `card mini diff-${kind}`, dataset: { key: s.key, diff: kind } },
    el('div', { class: 'card-head' }, icon(state.typeByKey[s.type] || { name: s.type }), el('span', { class: 'name' }, s.name)),
    el('div', { class: 'muted small' }, kind === 'changed' ? `changed: ${changed[s.key].join(', ')}` : kind === 'same' ? 'unchanged' : kind));
  const r = d.routes;
  const byKey = (items) => Object.fromEntries((items || []).map((x) => [x.key, x]));
  const fs = byKey(from.stages), ts = byKey(to.stages), fr = byKey(from.routes), tr = byKey(to.routes);
  const detail = (kind, k, a, b, label) => {
    const lines = propertyChanges(a, b);
    return lines.length ? el('div', { class: 'change-block', dataset: { [kind]: k } },
      el('h4', {}, `${kind === 'stage' ? 'Stage' : 'Route'} ${label}`, el('span', { class: 'muted small' }, ` (${k})`)),
      el('ul', { class: 'changes' }, ...lines.map(([path, before, after]) => el('li', { dataset: { path } },
        el('code', {}, path), ': ', el('span', { class: 'before' }, before), ' → ', el('span', { class: 'after' }, after))))) : null;
  };
  const details = [
    ...Object.keys(changed).map((k) => detail('stage', k, fs[k], ts[k], ts[k]?.name || k)),
    ...Object.keys(r.changed || {}).map((k) => detail('route', k, fr[k], tr[k], tr[k]?.name || k)),
  ].filter(Boolean);
  const routeItems = [
    ...r.added.map((k) => el('li', { class: 'diff-added' }, `+ route ${k}`)),
    ...r.removed.map((k) => el('li', { class: 'diff-removed' }, `− route ${k}`)),
    ...Object.entries(r.changed || {}).map(([k, f]) => el('li', { class: 'diff-changed' }, `~ route ${k}: ${f.join(', ')}`)),
  ];
  $('#diff').replaceChildren(
    el('h3', {}, `${fromLabel} → ${toLabel}`),
    el('div', { class: 'legend small' }, el('span', { class: 'diff-added' }, 'added'), el('span', { class: 'diff-changed' }, 'changed'), el('span', { class: 'diff-removed' }, 'removed')),
    el('div', { class: 'lane diff-lane' }, ...cols.map((c) => el('div', { class: 'column' }, el('div', { class: 'cards' }, ...c.map(mini))))),
    routeItems.length ? el('ul', { class: 'route-diff' }, ...routeItems) : el('p', { class: 'muted small' }, 'Routes unchanged.'),
    details.length ? el('section', { class: 'diff-details' }, el('h3', {}, 'What changed'), ...details) : null);
}

// ---------------------------------------------------------------- readable before → after values
const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
const empty = (x) => x === null || x === undefined || x === '' || (Array.isArray(x) && !x.length) || (isObj(x) && !Object.keys(x).length);

function readable(v, depth = 0) {
  if (empty(v)) return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return v.map((x) => readable(x, depth + 1)).join(', ');
  const parts = Object.entries(v).filter(([, x]) => !empty(x)).map(([k, x]) => `${k} ${isObj(x) ? `(${readable(x, depth + 1)})` : readable(x, depth + 1)}`);
  const text = parts.join(depth ? ', ' : '; ');
  return text.length > 140 ? `${text.slice(0, 137)}…` : text;
}

// one [path, before, after] line per changed leaf: plain objects are walked ("sla.due"), arrays
// and scalars are compared whole and shown as readable text
function propertyChanges(a, b, prefix = '') {
  const out = [];
  const keys = [...new Set([...Object.keys(a || {}), ...Object.keys(b || {})])];
  for (const k of keys) {
    const x = a?.[k], y = b?.[k];
    if (JSON.stringify(x ?? null) === JSON.stringify(y ?? null)) continue;
    const path = prefix ? `${prefix}.${k}` : k;
    if ((isObj(x) || x == null) && (isObj(y) || y == null) && (isObj(x) || isObj(y)) && Object.keys({ ...x, ...y }).length <= 12) {
      out.push(...propertyChanges(x || {}, y || {}, path));
    } else if (readable(x) !== readable(y)) out.push([path, readable(x), readable(y)]);
  }
  return out;
}

async function rollback(number) {
  if (!confirm(`Publish a copy of Version ${number} as a new Version?`)) return;
  if (state.dirty) await save();
  try {
    const v = await api('POST', `/api/v1/processes/${KEY}/rollback`, { version: number, note: `Roll back to Version ${number}` });
    state.currentVersion = v.number;
    adopt(await api('GET', `/api/v1/processes/${KEY}/draft`));
    renderLane(); renderPanel();
    document.querySelector('h1 .badge').textContent = `v${v.number}`;
    showNotice(`Rolled back: Version ${v.number} is a copy of Version ${number}.`, 'ok');
    await showVersions();
  } catch (err) { alert(err.message); }
}

// ---------------------------------------------------------------- live: presence and counts
let socket = null;
let liveJoined = null;
function initSocket() {
  if (typeof io === 'undefined') return;
  socket = io({ transports: ['polling', 'websocket'] });
  const open = () => socket.emit('builder:open', { process: KEY });
  socket.on('connect', () => { open(); liveJoined = null; joinLive(); });
  setInterval(() => socket.connected && open(), 30000);
  socket.on('builder:presence', (msg) => {
    if (msg.process !== KEY) return;
    const others = (msg.users || []).filter((u) => u.id !== ME);
    $('#presence').replaceChildren(...(others.length ? [el('span', { class: 'muted' }, 'Also editing: '),
      ...others.map((u) => el('span', { class: 'avatar', title: u.name, dataset: { user: u.name } }, u.name))] : []));
  });
  let pending = null;
  socket.on('task.changed', () => { clearTimeout(pending); pending = setTimeout(loadCounts, 300); });
}

function joinLive() {
  if (!state.currentVersion || !socket?.connected || liveJoined) return;
  liveJoined = true;
  socket.emit('join', { room: `process:${PID}` });
  loadCounts();
}

async function loadCounts() {
  if (!state.currentVersion) return;
  try {
    const c = await api('GET', `/builder/${KEY}/counts`);
    state.counts = c.stages || {};
    renderLane();
  } catch (e) { /* counts are decoration */ }
}

// ---------------------------------------------------------------- keyboard
document.addEventListener('keydown', (e) => {
  const inField = e.target.closest('input, textarea, select, dialog');
  const mod = e.ctrlKey || e.metaKey;
  if (mod && e.key.toLowerCase() === 'z' && !inField && CAN_EDIT) { e.preventDefault(); if (e.shiftKey) redo(); else undo(); return; }
  if (mod && e.key.toLowerCase() === 'y' && !inField && CAN_EDIT) { e.preventDefault(); redo(); return; }
  if (e.key === 'Escape' && state.selected && !e.target.closest('dialog') && !document.querySelector('dialog[open]')) {
    e.preventDefault();
    const back = state.selected.kind === 'stage' ? state.selected.key : state.def.routes[state.selected.index]?.stage;
    if (panel.contains(document.activeElement)) document.activeElement.blur();   // flush a pending change first
    select(null);
    if (back) focusCard(back);
    return;
  }
  if (inField || !CAN_EDIT || state.selected?.kind !== 'stage') return;
  const key = state.selected.key;
  if (e.altKey && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) { e.preventDefault(); moveStage(key, e.key === 'ArrowLeft' ? -1 : 1); }
  else if (e.key === 'Delete' && e.target.closest('.card, body') && !e.target.closest('#panel')) { e.preventDefault(); deleteStage(key); }
});
lane.addEventListener('keydown', (e) => {
  const c = e.target.closest('.card');
  if (c && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); select({ kind: 'stage', key: c.dataset.key }); }
});

// ---------------------------------------------------------------- name and description
function initDetails() {
  const form = $('#details-form');
  if (!form) return;
  const view = $('#details-view');
  const open = (on) => {
    form.hidden = !on; view.hidden = on; $('#details-error').textContent = '';
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
function adopt(d) {
  state.def = { stages: [], routes: [], ...clone(d.definition) };
  state.revision = d.revision;
  state.errors = d.errors || [];
}

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
  let local = null;
  try { local = JSON.parse(localStorage.getItem(LS_KEY) || 'null'); } catch (e) { local = null; }
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
  initSocket();
  root.dataset.ready = 'true';
  timing.ready = Math.round(performance.now());   // since navigation start: the open as the user sees it
  root.dataset.timing = JSON.stringify(timing);
}

boot().catch((err) => { showNotice(`Could not load the builder: ${err.message}`, 'error'); });
