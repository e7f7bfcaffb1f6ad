// Point-and-click condition editor: groups ("all of" / "any of") of field / operator / value rows and
// nested groups, written as CEL. Anything it cannot show (functions, negation, `in`…) opens in the
// advanced (raw expression) mode.
import { el } from '../lib/dom.js';

const OPS = ['==', '!=', '<', '<=', '>', '>='];
const NUMERIC = new Set(['number']);
const SYMBOL = { and: '&&', or: '||' };

const cond = () => ({ type: 'cond', field: '', op: '==', value: '' });
const group = (join = 'and', items = []) => ({ type: 'group', join, items });

function literal(value, type) {
  if (type === 'boolean') return value === 'false' || value === false ? 'false' : 'true';
  if (NUMERIC.has(type) && value !== '' && !Number.isNaN(Number(value))) return String(Number(value));
  return JSON.stringify(String(value));
}

// The CEL of a group; empty rows and groups are left out, sub-groups of two or more terms are
// parenthesised (CEL's && binds tighter than ||, the brackets keep what the user grouped).
export function toCel(node, fields) {
  const typeOf = Object.fromEntries(fields.map((f) => [f.key, f.type]));
  const walk = (n, nested) => {
    if (n.type === 'cond') return n.field ? `${n.field} ${n.op} ${literal(n.value, typeOf[n.field])}` : '';
    const parts = n.items.map((x) => walk(x, true)).filter(Boolean);
    const s = parts.join(` ${SYMBOL[n.join]} `);
    return nested && parts.length > 1 ? `(${s})` : s;
  };
  return walk(node, false);
}

// --- parsing the subset back: comparisons of a field with a literal, && / || and brackets ----------
const TOKEN = /\s*(?:(\(|\))|(&&|\|\|)|(==|!=|<=|>=|<|>)|("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)|([a-z][a-z0-9_]*))/y;

function tokenize(expr) {
  const out = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expr.length) {
    if (!expr.slice(TOKEN.lastIndex).trim()) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(expr);
    if (!m || TOKEN.lastIndex === at) return null;
    const [, paren, logic, op, lit, ident] = m;
    if (paren) out.push({ k: paren });
    else if (logic) out.push({ k: logic });
    else if (op) out.push({ k: 'op', v: op });
    else if (lit !== undefined) out.push({ k: 'lit', v: lit.startsWith('"') ? JSON.parse(lit) : lit });
    else if (ident === 'true' || ident === 'false') out.push({ k: 'lit', v: ident });
    else out.push({ k: 'id', v: ident });
  }
  return out;
}

// Returns the group tree, or null when the expression is outside the subset.
export function parseCel(expr) {
  if (!expr || !expr.trim()) return group();
  const toks = tokenize(expr);
  if (!toks) return null;
  let i = 0;
  const peek = () => toks[i]?.k;
  function chain(join, sub) {   // sub (&& / || sub)*, flattened into one group
    const items = [sub()];
    if (items[0] === null) return null;
    while (peek() === SYMBOL[join]) {
      i += 1;
      const next = sub();
      if (next === null) return null;
      items.push(next);
    }
    if (items.length === 1) return items[0];
    return group(join, items.flatMap((x) => (x.type === 'group' && x.join === join ? x.items : [x])));
  }
  const orExpr = () => chain('or', andExpr);
  const andExpr = () => chain('and', primary);
  function primary() {
    if (peek() === '(') {
      i += 1;
      const inner = orExpr();
      if (inner === null || peek() !== ')') return null;
      i += 1;
      return inner;
    }
    const [a, b, c] = [toks[i], toks[i + 1], toks[i + 2]];
    if (a?.k !== 'id' || b?.k !== 'op' || c?.k !== 'lit') return null;
    i += 3;
    return { type: 'cond', field: a.v, op: b.v, value: c.v };
  }
  const tree = orExpr();
  if (tree === null || i !== toks.length) return null;
  return tree.type === 'group' ? tree : group('and', [tree]);
}

// conditionEditor({value, fields, onChange, disabled, name}) -> the editor's element
export function conditionEditor({ value, fields, onChange, disabled, name }) {
  const root = el('div', { class: 'cond', dataset: { cond: name } });
  let tree = parseCel(value);
  let advanced = tree === null;
  if (tree === null) tree = group();
  let raw = value || '';

  const emit = () => {
    raw = toCel(tree, fields); onChange(raw || null);
    const p = root.querySelector('.cel-preview'); if (p) p.textContent = raw;
  };

  function valueInput(row) {
    const f = fields.find((x) => x.key === row.field);
    const set = (e) => { row.value = e.target.value; emit(); };
    if (f && f.type === 'boolean') {
      return el('select', { 'aria-label': 'Value', disabled, onchange: set },
        ...['true', 'false'].map((v) => el('option', { value: v, selected: String(row.value) === v }, v)));
    }
    const choices = f?.options?.choices;
    if (Array.isArray(choices) && choices.length) {
      return el('select', { 'aria-label': 'Value', disabled, onchange: set }, el('option', { value: '' }, '—'),
        ...choices.map((c) => { const v = typeof c === 'object' ? c.value ?? c.key : c; return el('option', { value: v, selected: String(row.value) === String(v) }, f.options.labels?.[v] || v); }));
    }
    return el('input', { 'aria-label': 'Value', value: row.value ?? '', disabled, type: f && NUMERIC.has(f.type) ? 'number' : 'text', onchange: set });
  }

  function condRow(row, parent, i) {
    return el('div', { class: 'cond-row' },
      el('span', { class: 'join muted' }, i === 0 ? 'when' : parent.join),
      el('select', { 'aria-label': 'Field', disabled, onchange: (e) => { row.field = e.target.value; emit(); render(); } },
        el('option', { value: '' }, '— field —'), ...fields.map((f) => el('option', { value: f.key, selected: row.field === f.key }, f.name))),
      el('select', { 'aria-label': 'Operator', disabled, onchange: (e) => { row.op = e.target.value; emit(); } },
        ...OPS.map((o) => el('option', { value: o, selected: row.op === o }, o))),
      valueInput(row),
      disabled ? null : el('button', { type: 'button', class: 'link', title: 'Remove condition', 'aria-label': 'Remove condition',
        onclick: () => { parent.items.splice(i, 1); emit(); render(); } }, '✕'));
  }

  function groupBox(g, parent, index) {
    const box = el('div', { class: parent ? 'cond-group nested' : 'cond-group' });
    box.append(el('div', { class: 'cond-head' },
      el('span', { class: 'muted' }, parent ? `${index === 0 ? 'when' : parent.join} ` : 'Match '),
      el('select', { class: 'group-join', 'aria-label': 'Match all or any', disabled, onchange: (e) => { g.join = e.target.value; emit(); render(); } },
        el('option', { value: 'and', selected: g.join === 'and' }, 'all of'), el('option', { value: 'or', selected: g.join === 'or' }, 'any of')),
      parent && !disabled ? el('button', { type: 'button', class: 'link', title: 'Remove group', 'aria-label': 'Remove group',
        onclick: () => { parent.items.splice(index, 1); emit(); render(); } }, '✕') : null));
    g.items.forEach((item, i) => box.append(item.type === 'group' ? groupBox(item, g, i) : condRow(item, g, i)));
    if (!disabled) {
      box.append(el('div', { class: 'cond-add' },
        el('button', { type: 'button', class: 'link add-cond', onclick: () => { g.items.push(cond()); render(); } }, '+ condition'),
        el('button', { type: 'button', class: 'link add-group', onclick: () => { g.items.push(group(g.join === 'and' ? 'or' : 'and', [cond()])); render(); } }, '+ group')));
    }
    return box;
  }

  function render() {
    root.replaceChildren();
    if (advanced) {
      const ta = el('textarea', { class: 'cel', rows: 2, 'aria-label': `${name} expression`, disabled,
        onchange: (e) => { raw = e.target.value; onChange(raw.trim() || null); } });
      ta.value = raw;
      root.append(ta);
    } else {
      root.append(groupBox(tree, null, 0));
    }
    root.append(el('label', { class: 'adv' }, el('input', { type: 'checkbox', checked: advanced, onchange: (e) => {
      if (!e.target.checked) {
        const parsed = parseCel(raw);
        if (parsed === null) { e.target.checked = true; alert('This expression is too complex for the point-and-click editor.'); return; }
        tree = parsed;
      }
      advanced = e.target.checked; render();
    } }), ' Advanced'), advanced ? null : el('code', { class: 'cel-preview muted' }, raw || ''));
  }
  render();
  return root;
}
