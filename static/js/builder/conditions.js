// Point-and-click condition editor: rows of field / operator / value joined by and/or, written as CEL.
import { el } from './api.js';

const OPS = ['==', '!=', '<', '<=', '>', '>='];
const NUMERIC = new Set(['number']);

function literal(value, type) {
  if (type === 'boolean') return value === 'false' ? 'false' : 'true';
  if (NUMERIC.has(type) && value !== '' && !Number.isNaN(Number(value))) return String(Number(value));
  return JSON.stringify(String(value));
}

export function toCel(rows, fields) {
  const typeOf = Object.fromEntries(fields.map((f) => [f.key, f.type]));
  return rows.filter((r) => r.field).map((r, i) => {
    const term = `${r.field} ${r.op} ${literal(r.value, typeOf[r.field])}`;
    return i === 0 ? term : ` ${r.join === 'or' ? '||' : '&&'} ${term}`;
  }).join('');
}

// Parses the flat `a op lit && b op lit || ...` subset; returns null for anything else.
export function parseCel(expr) {
  if (!expr || !expr.trim()) return [];
  const re = /^\s*([a-z][a-z0-9_]*)\s*(==|!=|<=|>=|<|>)\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false)\s*(&&|\|\||$)/;
  const rows = [];
  let rest = expr, join = 'and';
  while (rest.trim()) {
    const m = rest.match(re);
    if (!m) return null;
    let value = m[3];
    if (value.startsWith('"')) value = JSON.parse(value);
    rows.push({ field: m[1], op: m[2], value, join });
    join = m[4] === '||' ? 'or' : 'and';
    rest = rest.slice(m[0].length);
    if (!m[4] && rest.trim()) return null;
  }
  return rows;
}

// mount(container, {value, fields, onChange, disabled, name}) -> renders the editor
export function conditionEditor({ value, fields, onChange, disabled, name }) {
  const root = el('div', { class: 'cond', dataset: { cond: name } });
  let rows = parseCel(value);
  let advanced = rows === null;
  if (rows === null) rows = [];
  let raw = value || '';

  const emit = () => {
    raw = toCel(rows, fields); onChange(raw || null);
    const p = root.querySelector('.cel-preview'); if (p) p.textContent = raw;
  };

  function valueInput(row) {
    const f = fields.find((x) => x.key === row.field);
    if (f && f.type === 'boolean') {
      return el('select', { 'aria-label': 'Value', disabled, onchange: (e) => { row.value = e.target.value; emit(); } },
        ...['true', 'false'].map((v) => el('option', { value: v, selected: String(row.value) === v }, v)));
    }
    const choices = f?.options?.choices;
    if (Array.isArray(choices) && choices.length) {
      return el('select', { 'aria-label': 'Value', disabled, onchange: (e) => { row.value = e.target.value; emit(); } },
        el('option', { value: '' }, '—'),
        ...choices.map((c) => { const v = typeof c === 'object' ? c.value ?? c.key : c; return el('option', { value: v, selected: String(row.value) === String(v) }, v); }));
    }
    return el('input', { 'aria-label': 'Value', value: row.value ?? '', disabled, type: f && NUMERIC.has(f.type) ? 'number' : 'text',
      onchange: (e) => { row.value = e.target.value; emit(); } });
  }

  function render() {
    root.replaceChildren();
    if (advanced) {
      const ta = el('textarea', { class: 'cel', rows: 2, 'aria-label': `${name} expression`, disabled,
        onchange: (e) => { raw = e.target.value; onChange(raw.trim() || null); } });
      ta.value = raw;
      root.append(ta);
    } else {
      rows.forEach((row, i) => {
        root.append(el('div', { class: 'cond-row' },
          i === 0 ? el('span', { class: 'join muted' }, 'when') :
            el('select', { class: 'join', 'aria-label': 'And/or', disabled, onchange: (e) => { row.join = e.target.value; emit(); } },
              el('option', { value: 'and', selected: row.join !== 'or' }, 'and'), el('option', { value: 'or', selected: row.join === 'or' }, 'or')),
          el('select', { 'aria-label': 'Field', disabled, onchange: (e) => { row.field = e.target.value; emit(); render(); } },
            el('option', { value: '' }, '— field —'), ...fields.map((f) => el('option', { value: f.key, selected: row.field === f.key }, f.name))),
          el('select', { 'aria-label': 'Operator', disabled, onchange: (e) => { row.op = e.target.value; emit(); } },
            ...OPS.map((o) => el('option', { value: o, selected: row.op === o }, o))),
          valueInput(row),
          disabled ? null : el('button', { type: 'button', class: 'link', title: 'Remove condition', onclick: () => { rows.splice(i, 1); emit(); render(); } }, '✕')));
      });
      if (!disabled) root.append(el('button', { type: 'button', class: 'link add-cond', onclick: () => { rows.push({ field: '', op: '==', value: '', join: 'and' }); render(); } }, '+ condition'));
    }
    root.append(el('label', { class: 'adv' }, el('input', { type: 'checkbox', checked: advanced, onchange: (e) => {
      if (!e.target.checked) {
        const parsed = parseCel(raw);
        if (parsed === null) { e.target.checked = true; alert('This expression is too complex for the point-and-click editor.'); return; }
        rows = parsed;
      }
      advanced = e.target.checked; render();
    } }), ' Advanced'), advanced ? null : el('code', { class: 'cel-preview muted' }, raw || ''));
  }
  render();
  return root;
}
