// Pure model of a comparison between two definitions (two Versions, or their draft and yours): which
// Stages and Routes were added, removed or changed, where each card goes in the compared lane, and
// readable "path: before → after" lines. No DOM: Node's test runner imports this module.
import { columns } from './model.js';

// the API's diff shape ({stages|routes: {added, removed, changed: {key: [property…]}}}) computed here,
// for a draft that is not a Version yet
export function localDiff(a, b) {
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

// the "to" lane as columns of {s, kind}: kind is added, changed or same, and removed Stages are
// appended, as ghosts, to the column they were in (or the last one)
export function diffColumns(from, to, d) {
  const removed = new Set(d.stages.removed), added = new Set(d.stages.added);
  const changed = d.stages.changed || {};
  const cols = columns(to.stages || []).map((c) => c.map((s) => ({ s, kind: added.has(s.key) ? 'added' : changed[s.key] ? 'changed' : 'same' })));
  columns(from.stages || []).forEach((c, i) => c.filter((s) => removed.has(s.key)).forEach((s) => {
    (cols[Math.min(i, cols.length)] ||= []).push({ s, kind: 'removed' });
  }));
  return cols;
}

// one line per Route added, removed or changed: [kind, text]
export function routeLines(r) {
  return [
    ...r.added.map((k) => ['added', `+ route ${k}`]),
    ...r.removed.map((k) => ['removed', `− route ${k}`]),
    ...Object.entries(r.changed || {}).map(([k, f]) => ['changed', `~ route ${k}: ${f.join(', ')}`]),
  ];
}

// the changed Stages and Routes, each with its [path, before, after] lines:
// [{kind: 'stage'|'route', key, label, lines}], those without a readable difference left out
export function changeDetails(from, to, d) {
  const byKey = (items) => Object.fromEntries((items || []).map((x) => [x.key, x]));
  const fs = byKey(from.stages), ts = byKey(to.stages), fr = byKey(from.routes), tr = byKey(to.routes);
  const detail = (kind, key, a, b) => ({ kind, key, label: b?.name || key, lines: propertyChanges(a, b) });
  return [
    ...Object.keys(d.stages.changed || {}).map((k) => detail('stage', k, fs[k], ts[k])),
    ...Object.keys(d.routes.changed || {}).map((k) => detail('route', k, fr[k], tr[k])),
  ].filter((x) => x.lines.length);
}

// ---------------------------------------------------------------- readable before → after values
const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
const empty = (x) => x === null || x === undefined || x === '' || (Array.isArray(x) && !x.length) || (isObj(x) && !Object.keys(x).length);

export function readable(v, depth = 0) {
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
export function propertyChanges(a, b, prefix = '') {
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
