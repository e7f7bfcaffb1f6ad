// The panel beside the lane: what is selected — a Stage (all its settings), a Route (source,
// trigger, target) or the Process's start (who may start Tasks, which Fields a start sets).
import { $, el } from '../../lib/dom.js';
import * as model from './model.js';
import { CAN_EDIT, KEY, errorsFor, root, stageByKey, state } from './state.js';
import { commit, select } from './history.js';
import { conditionEditor } from '../conditions.js';
import { configForm, durationInput, fieldsTable, input, section, slaEditor, upd } from './form.js';
import { deleteStage, routeChip } from './lane.js';
import { icon } from './icons.js';
import { keyInput } from './typing.js';
import { refPicker } from './pickers.js';

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
      keyInput('Key', s.key, { name: 'key', what: 'stage', taken: () => state.def.stages.map((x) => x.key).filter((k) => k !== s.key), apply: (v) => renameStage(s.key, v) }),
      el('div', { class: 'muted small' }, `Type: ${t.name}`)),
    section('Settings', 'config', ...configForm(s)),
    section('Fields', ['reads', 'writes'], fieldsTable(s)),
    section('Visibility', 'visibility',
      el('label', {}, 'External (portal)', el('select', { name: 'visibility.external', onchange: (e) => upd((st) => { st.visibility = { ...(st.visibility || {}), external: e.target.value }; }) },
        ...[['none', 'none'], ['status', 'status only'], ['action', 'action (portal UI)']].map(([v, l]) => el('option', { value: v, selected: (s.visibility?.external || 'none') === v }, l)))),
      refPicker('Seen inside by teams (none: everyone who sees the Task)', s.visibility?.internal?.teams || [], (v) => upd((st) => { st.visibility = { external: 'none', ...(st.visibility || {}) }; st.visibility.internal = { ...(st.visibility.internal || {}), teams: v }; }), { name: 'visibility.teams', teamsOnly: true }),
      el('fieldset', { class: 'field choices' }, el('legend', {}, 'Seen inside by roles (none: any role)'),
        ...['staff', 'manager', 'designer', 'admin'].map((role) => el('label', { class: 'check' }, el('input', { type: 'checkbox', name: `visibility.roles.${role}`,
          checked: (s.visibility?.internal?.roles || []).includes(role), onchange: (e) => upd((st) => {
            st.visibility = { external: 'none', ...(st.visibility || {}) };
            const now = new Set(st.visibility.internal?.roles || []);
            if (e.target.checked) now.add(role); else now.delete(role);
            st.visibility.internal = { ...(st.visibility.internal || {}), roles: ['staff', 'manager', 'designer', 'admin'].filter((x) => now.has(x)) };
          }) }), ` ${{ staff: 'staff', manager: 'managers', designer: 'designers', admin: 'admins' }[role]}`)))),
    section('Approval', 'approval',
      el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'approval.required', checked: !!approval?.required, onchange: (e) => upd((st) => { st.approval = e.target.checked ? { required: true, approvers: [], ...(st.approval || {}) } : null; if (st.approval) st.approval.required = true; }, { panel: true }) }), ' Requires approval'),
      approval?.required ? [
        refPicker('Who approves', approval.approvers || [], (v) => upd((st) => { st.approval.approvers = v; }), { name: 'approval.approvers', help: 'They approve or reject the finished work (and may let an approval gate pass).' }),
        el('label', { class: 'check', title: 'Four-eyes: whoever completed the Stage may not approve or reject it' },
          el('input', { type: 'checkbox', name: 'approval.four_eyes', checked: approval.four_eyes !== false, onchange: (e) => upd((st) => { if (e.target.checked) delete st.approval.four_eyes; else st.approval.four_eyes = false; }) }),
          ' Four-eyes (approver ≠ who completed it)'),
        el('div', { class: 'lbl' }, 'Approval SLA'),
        slaEditor(() => stageByKey(state.selected.key)?.approval?.sla, (sla) => upd((st) => { if (sla) st.approval.sla = sla; else delete st.approval.sla; }), 'approval.sla'),
      ] : null),
    section('Stage SLA', 'sla', slaEditor(() => stageByKey(state.selected.key)?.sla, (sla) => upd((st) => { st.sla = sla; }), 'sla')),
    section('People', 'roles', ...ROLES.filter(([r]) => r !== 'approver' || s.roles?.approver?.length).map(([r, label]) =>
      refPicker(label, (s.roles?.[r] || []).filter((x) => !model.isAssignment(x)), (v) => upd((st) => {
        const kept = (st.roles?.[r] || []).filter((x) => model.isAssignment(x));   // "assign from data" stays
        st.roles = { responsible: [], approver: [], informed: [], delegator: [], ...(st.roles || {}), [r]: [...v, ...kept] };
      }), { name: `roles.${r}`, automation: r === 'responsible' })),
      assignPicker(s),
      refPicker('Escalate to (failures, overdue; none: its delegators, else the owning Team)', s.escalate_to || [], (v) => upd((st) => { if (v.length) st.escalate_to = v; else delete st.escalate_to; }), { name: 'escalate_to' })),
    section('Retry', 'retry', el('div', { class: 'row3' },
      input('Attempts', s.retry?.attempts ?? 1, (v) => upd((st) => { st.retry = { ...(st.retry || {}), attempts: Number(v) || 1 }; }), { type: 'number', min: 1, name: 'retry.attempts' }),
      durationInput('Backoff', s.retry?.backoff ?? '10s', (v) => upd((st) => { st.retry = { ...(st.retry || {}), backoff: v || '10s' }; }), 'retry.backoff'),
      input('Factor', s.retry?.factor ?? 2, (v) => upd((st) => { st.retry = { ...(st.retry || {}), factor: Number(v) || 1 }; }), { type: 'number', step: '0.5', name: 'retry.factor' }))),
    section('Conditions', ['start_when', 'skip_when'], cond('start_when', 'Start when'), cond('skip_when', 'Skip when')),
    section('Gate', 'gate',
      el('select', { name: 'gate.type', 'aria-label': 'Gate', onchange: (e) => upd((st) => { st.gate = e.target.value ? { ...(st.gate || {}), type: e.target.value } : null; }, { panel: true }) },
        ...[['', 'no gate'], ['approval', 'approval'], ['condition', 'condition'], ['manual', 'manual advance']].map(([v, l]) => el('option', { value: v, selected: (gate?.type || '') === v }, l))),
      gate?.type === 'condition' ? conditionEditor({ name: 'gate', value: gate.condition, fields: state.fields, disabled: !CAN_EDIT, onChange: (v) => upd((st) => { st.gate.condition = v; }) }) : null,
      gate?.type === 'approval' ? refPicker('Who lets it start (besides who approves)', gate.approvers || [], (v) => upd((st) => { st.gate.approvers = v; }), { name: 'gate.approvers' }) : null),
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
    model.renameStage(state.def, oldKey, newKey);
    state.selected = { kind: 'stage', key: newKey };
  });
  $('#panel [name="key"]')?.focus();   // the panel was rebuilt: focus stays on the key
}

// a new Route from a Stage (or the whole Process) to the first other Process, selected
export function addRoute(stageKey = null) {
  const n = model.nextRouteNumber(state.def.routes);
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
      keyInput('Key', r.key, { name: 'route.key', what: 'route', taken: () => state.def.routes.filter((_, j) => j !== i).map((x) => x.key), apply: (v) => { set((x) => { x.key = v; }, true); $('#panel [name="route.key"]')?.focus(); } })),
    section('Source', 'stage', el('select', { name: 'route.stage', 'aria-label': 'Source', onchange: (e) => set((x) => { x.stage = e.target.value || null; }, true) },
      el('option', { value: '' }, 'the whole process'),
      ...state.def.stages.map((s) => el('option', { value: s.key, selected: r.stage === s.key }, s.name)))),
    section('Trigger', 'trigger',
      el('select', { name: 'route.trigger', 'aria-label': 'Trigger', onchange: (e) => set((x) => { x.trigger = e.target.value === 'condition' ? { type: 'condition', condition: x.trigger?.condition || null } : { type: e.target.value, ...(e.target.value === 'timeout' ? { after: '1d' } : {}) }; }, true) },
        ...TRIGGERS.map(([v, l]) => el('option', { value: v, selected: (r.trigger?.type || 'condition') === v }, l))),
      (r.trigger?.type || 'condition') === 'condition' ? conditionEditor({ name: 'trigger', value: r.trigger?.condition, fields: state.fields, disabled: !CAN_EDIT, onChange: (v) => set((x) => { x.trigger = { type: 'condition', condition: v }; }) }) : null,
      r.trigger?.type === 'timeout' ? input('Time allowed (e.g. 5d, 48h, 30m)', r.trigger.after || '', (v) => set((x) => { x.trigger = { type: 'timeout', after: v.trim() }; }), { name: 'route.trigger_after' }) : null),
    section('Target', 'target',
      // one list: Processes by key, Splits as "split:<key>" (Process keys never hold a colon)
      el('select', { name: 'route.target', 'aria-label': 'Target', onchange: (e) => set((x) => { x.target = model.routeTarget(e.target.value, x.target); if (!x.target.stage || x.target.process) delete x.max_iterations; }, true) },
        el('option', { value: '' }, '— choose a target —'),
        el('optgroup', { label: 'End the Task' },
          ...ENDINGS.map(([v, l]) => el('option', { value: `end:${v}`, selected: r.target?.end === v }, l))),
        el('optgroup', { label: 'Back to a Stage of this Process' },
          ...state.def.stages.map((s) => el('option', { value: `back:${s.key}`, selected: model.targetValue(r.target) === `back:${s.key}` }, `Back to: ${s.name}`))),
        el('optgroup', { label: 'Processes' },
          ...state.processes.filter((p) => p.key !== KEY).map((p) => el('option', { value: p.key, selected: !r.target?.split && r.target?.process === p.key }, p.name))),
        state.splits.length ? el('optgroup', { label: 'Splits (A/B)' },
          ...state.splits.map((sp) => el('option', { value: `split:${sp.key}`, selected: r.target?.split === sp.key },
            `${sp.name} (${sp.variants.map((v) => `${v.key} ${v.weight}`).join(' / ')})`))) : null),
      targetDetails(r, set)),
    CAN_EDIT ? el('button', { type: 'button', class: 'secondary danger', onclick: () => commit(() => { state.def.routes.splice(i, 1); state.selected = null; }) }, 'Delete route') : null,
  ];
}

// "Assign from data": one assignment reference as the Stage's Responsible (replacing any other one)
function assignPicker(s) {
  const current = (s.roles?.responsible || []).find((r) => model.isAssignment(r)) || '';
  const team = root.dataset.team;
  const options = [['', '— or assign from data —'],
    ...state.fields.filter((f) => ['email', 'text', 'user'].includes(f.type)).map((f) => [`field:${f.key}`, `The person in “${f.name}”`]),
    [`round_robin:team:${team}`, `Take turns in ${team}`], [`least_loaded:team:${team}`, `Fewest open steps in ${team}`]];
  return el('label', {}, 'Assign from data', el('select', { name: 'roles.assign', onchange: (e) => upd((st) => {
    const others = (st.roles?.responsible || []).filter((r) => !model.isAssignment(r));
    st.roles = { approver: [], informed: [], delegator: [], ...(st.roles || {}) };
    st.roles.responsible = e.target.value ? [...others, e.target.value] : others;
  }, { panel: true }) }, ...options.map(([v, l]) => el('option', { value: v, selected: v === current }, l))));
}

const ROLES = [['responsible', 'Who does it (Responsible)'], ['approver', 'Also approves (Approver)'], ['informed', 'Who is told (Informed)'], ['delegator', 'Who may reassign it (Delegator)']];

const TRIGGERS = [['condition', 'a condition holds'], ['stage_failed', 'the stage failed'], ['approval_rejected', 'the approval is rejected'],
  ['timeout', 'no answer in time (the first of answer or clock wins)'], ['sla_breached', 'the stage is overdue (its SLA due time)']];
const ENDINGS = [['completed', 'End — completed'], ['rejected', 'End — rejected'], ['cancelled', 'End — cancelled']];

// what a Route's target asks for besides the list: an end's label, a loop's limit, a Process's Stage
function targetDetails(r, set) {
  const t = r.target || {};
  if (t.end) return input('Outcome label (shown on the Task)', t.label || '', (v) => set((x) => { x.target = { end: t.end, ...(v.trim() ? { label: v.trim() } : {}) }; }), { name: 'route.target_label' });
  if (t.split) return el('p', { class: 'muted small split-note' }, 'Each Task goes to one of the Split\'s variants by weight; it starts at the first stage.');
  if (t.stage && !t.process) {
    return input('Send back at most (times, then escalate)', r.max_iterations ?? 10, (v) => set((x) => { const n = parseInt(v, 10); if (n > 0) x.max_iterations = n; else delete x.max_iterations; }), { name: 'route.max_iterations', type: 'number', min: 1, max: 1000 });
  }
  return input('Target stage (optional)', r.target?.stage || '', (v) => set((x) => { x.target = { ...(x.target || {}) }; if (v.trim()) x.target.stage = v.trim(); else delete x.target.stage; }), { name: 'route.target_stage', placeholder: 'stage key' });
}

// who may start Tasks and which Fields a start sets (the definition's `start`; defaults in
// app/builder/definition.py start_spec): an empty `start` is left out of the document
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
      refPicker('Who may start Tasks', start.roles || [], (v) => set((x) => { x.roles = v; }), { name: 'start.roles' }),
      el('p', { class: 'muted small' }, 'Empty: the owning Team. Admins and the Team\'s designers always may.')),
    el('section', { class: `p-sec${errs.length ? ' has-error' : ''}`, dataset: { section: 'start.writes' } }, el('h4', {}, 'Fields a start may set'),
      el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'start.declared', checked: declared, onchange: (e) => set((x) => { x.writes = e.target.checked ? model.firstColumnWrites(state.def.stages) : null; }) }),
        ' Choose the fields'),
      declared
        ? el('table', { class: 'fields' }, el('tbody', {}, ...state.fields.map((f) => el('tr', {}, el('td', {}, f.name),
          el('td', {}, el('input', { type: 'checkbox', name: `start.writes.${f.key}`, 'aria-label': `start sets ${f.key}`, checked: writes.has(f.key), onchange: (e) => toggle(f.key, e.target.checked) }))))))
        : el('p', { class: 'muted small' }, `Default, what the first column's stages write: ${model.firstColumnWrites(state.def.stages).join(', ') || 'none'}.`),
      errs.length ? el('ul', { class: 'field-errors' }, ...errs.map((e) => el('li', { dataset: { path: e.path } }, e.message))) : null),
  ];
}

export function renderPanel() {
  const sel = state.selected;
  let body = null;
  if (sel?.kind === 'stage' && stageByKey(sel.key)) body = renderStagePanel(stageByKey(sel.key));
  else if (sel?.kind === 'route' && state.def.routes[sel.index]) body = renderRoutePanel(sel.index);
  else if (sel?.kind === 'start') body = renderStartPanel();
  const panel = $('#panel');
  panel.hidden = !body;
  if (!body) { panel.replaceChildren(); return; }
  const fs = el('fieldset', { disabled: !CAN_EDIT }, ...body.flat());
  panel.replaceChildren(fs);
}

