// Pure functions over the draft definition ({stages, routes, start}): lane columns, new keys and
// Stages, validation errors by JSON path. No DOM: Node's test runner imports this module.

export const clone = (x) => JSON.parse(JSON.stringify(x));

// "a, b\nc" -> ['a', 'b', 'c']
export const list = (s) => String(s || '').split(/[,\n]/).map((x) => x.trim()).filter(Boolean);

// the lane as columns of Stages; a Stage without a column is in the one after the previous Stage's
export function columns(stages) {
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

// columns -> the Stage list, numbered 0, 1, 2… with empty columns dropped (Stages are updated in place)
export function fromColumns(cols) {
  const stages = [];
  cols.filter((c) => c.length).forEach((c, i) => c.forEach((s) => { s.column = i; stages.push(s); }));
  return stages;
}

// base_1, base_2…: the first key no Stage has, from a base made a valid key
export function uniqueKey(stages, base) {
  const taken = new Set(stages.map((s) => s.key));
  base = base.replace(/[^a-z0-9_]/g, '_').replace(/^[^a-z]+/, '') || 'stage';
  for (let n = 1; ; n++) { const k = `${base}_${n}`; if (!taken.has(k)) return k; }
}

// a new Stage of a type ({key, name} from the stage-type list), keyed apart from `stages`
export function newStage(stages, type, typeInfo) {
  const t = typeInfo || { name: type };
  const key = uniqueKey(stages, type);
  return {
    key, name: `${t.name} ${key.split('_').pop()}`, type, config: {}, reads: [], writes: [],
    visibility: { internal: { teams: [], roles: [] }, external: 'none' },
    roles: { responsible: [], approver: [], informed: [], delegator: [] },
  };
}

// rename a Stage and every reference to it (`after` lists, Routes' sources); mutates def
export function renameStage(def, oldKey, newKey) {
  for (const st of def.stages) {
    if (st.key === oldKey) st.key = newKey;
    if (st.after) st.after = st.after.map((k) => (k === oldKey ? newKey : k));
  }
  for (const r of def.routes) if (r.stage === oldKey) r.stage = newKey;
}

// the first free route_N key
export function nextRouteNumber(routes) {
  const taken = new Set(routes.map((r) => r.key));
  let n = 1;
  while (taken.has(`route_${n}`)) n++;
  return n;
}

// validation errors at a path or under it: "stages[0]" holds "stages[0].sla.due" and "stages[0]"
export function errorsFor(errors, prefix) {
  return errors.filter((e) => e.path === prefix || e.path.startsWith(`${prefix}.`) || e.path.startsWith(`${prefix}[`));
}

// the panel section an error belongs to: "stages[2].sla.due" -> "sla"; the Stage itself -> "key"
export function sectionOf(path) {
  const m = path.match(/^(?:stages|routes)\[\d+\]\.?([a-z_]+)?/);
  return (m && m[1]) || 'key';
}

// errors not about one Stage or Route (shown in the banner)
export const generalErrors = (errors) => errors.filter((e) => !/^(stages|routes)\[\d+\]/.test(e.path));

export function triggerLabel(r, fields = []) {
  const t = r.trigger || {};
  if (t.type === 'stage_failed') return 'if failed';
  if (t.type === 'approval_rejected') return 'if rejected';
  if (t.type === 'timeout') return `after ${t.after || '…'} without an answer`;
  if (t.type === 'sla_breached') return 'if overdue';
  return t.condition ? `when ${plainCondition(t.condition, fields)}` : 'condition';
}

// how a Route's target reads on its chip: another Process or Split, the end of the Task, or back
// to a Stage of this Process
export function targetLabel(r, { processes = [], splits = [], stages = [] } = {}) {
  const t = r.target || {};
  if (t.end) return `end: ${t.end}${t.label ? ` (${t.label})` : ''}`;
  if (t.split) return `split: ${splits.find((x) => x.key === t.split)?.name || t.split}`;
  if (t.stage && !t.process) return `back to ${stages.find((s) => s.key === t.stage)?.name || t.stage}`;
  const name = processes.find((p) => p.key === t.process)?.name || t.process || '?';
  return t.stage ? `${name}:${t.stage}` : name;
}

// the value of the Target list that a Route's target selects
export function targetValue(t = {}) {
  if (t.end) return `end:${t.end}`;
  if (t.split) return `split:${t.split}`;
  if (t.stage && !t.process) return `back:${t.stage}`;
  return t.process || '';
}

// what the first column's Stages write: the Fields a start sets when `start.writes` is not declared
// (as app/builder/definition.py start_spec computes it)
export function firstColumnWrites(stages) {
  let prev = -1;   // an omitted column is the previous one + 1, as the server normalizes it
  const cols = stages.map((s) => { prev = s.column ?? prev + 1; return prev; });
  const first = cols.length ? Math.min(...cols) : 0;
  return [...new Set(stages.filter((s, i) => cols[i] === first).flatMap((s) => s.writes || []))];
}

// a Route's target read from the panel's one list: Processes by key, Splits as "split:<key>", the
// end of the Task as "end:<outcome>" (keeping its label), a Stage of this Process as "back:<key>"
// (Process keys never hold a colon); a Process target keeps its named Stage
export function routeTarget(value, previous) {
  if (value.startsWith('split:')) return { split: value.slice(6) };
  if (value.startsWith('end:')) return { end: value.slice(4), ...(previous?.end && previous.label ? { label: previous.label } : {}) };
  if (value.startsWith('back:')) return { stage: value.slice(5) };
  return { process: value, ...(previous?.stage && previous?.process ? { stage: previous.stage } : {}) };
}

// an assignment reference (resolved when the Stage Run is ready): field:, round_robin:team:, least_loaded:team:
export const isAssignment = (ref) => /^(field:[a-z][a-z0-9_]*|(round_robin|least_loaded):team:\S.*)$/.test(ref);

// the Stage `key` joins the column before (dir -1) or after (+1) its own, running in parallel there;
// a column left empty disappears. Returns the new columns (or the same ones when there is none).
export function joinColumn(cols, key, dir) {
  const i = cols.findIndex((c) => c.some((s) => s.key === key));
  const j = i + dir;
  if (i < 0 || j < 0 || j >= cols.length) return cols;
  const s = cols[i].find((x) => x.key === key);
  const out = cols.map((c) => [...c]);
  out[i] = out[i].filter((x) => x !== s);
  out[j].push(s);
  return out.filter((c) => c.length);
}

// a condition in words for the lane's Route chips: Fields by name, choice values by label,
// operators in words ('location == "out_of_area"' -> 'Location is Out of area')
export function plainCondition(cel, fields = []) {
  const byKey = Object.fromEntries(fields.map((f) => [f.key, f]));
  const WORDS = { '==': 'is', '!=': 'is not', '<=': 'is at most', '>=': 'is at least', '<': 'is below', '>': 'is above', '&&': 'and', '||': 'or' };
  let last = null;
  return String(cel).replace(/"(?:[^"\\]|\\.)*"|==|!=|<=|>=|&&|\|\||<|>|\b[a-z][a-z0-9_]*\b/g, (t) => {
    if (WORDS[t]) return WORDS[t];
    if (t.startsWith('"')) { const v = JSON.parse(t); return byKey[last]?.options?.labels?.[v] || v; }
    if (byKey[t]) { last = t; return byKey[t].name; }
    if (t === 'true') return 'yes';
    if (t === 'false') return 'no';
    return t;
  });
}
