// "Set fields" without code: one assignment as a form — a value, another Field, simple arithmetic
// (two operands, each a Field or a number) or a text joined from Fields and words — and the CEL it
// stands for, both ways. What the forms cannot show stays an expression (the experts' raw mode).
// No DOM: Node's test runner imports this module.

const IDENT = /^[a-z][a-z0-9_]*$/;
const NUMBER = /^-?\d+(?:\.\d+)?$/;
const STRING = /^"(?:[^"\\]|\\.)*"$/;
export const ARITH = ['+', '-', '*', '/'];

const isField = (s) => IDENT.test(s) && s !== 'true' && s !== 'false' && s !== 'null';

// a value typed for a Field of `type` as a CEL literal
export function literal(value, type) {
  if (type === 'number') return NUMBER.test(String(value).trim()) ? String(Number(value)) : JSON.stringify(String(value));
  if (type === 'boolean') return value === true || value === 'true' ? 'true' : 'false';
  return JSON.stringify(String(value ?? ''));
}

const operand = (o) => (o.field ? o.field : String(Number(o.number) || 0));

// a form -> CEL. form: {kind: 'value', value} | {kind: 'field', field} |
// {kind: 'math', left: {field}|{number}, op, right} | {kind: 'join', parts: [{field}|{text}]} | {kind: 'cel', cel}
export function toCel(form, targetType, typeOf = {}) {
  if (form.kind === 'value') return literal(form.value, targetType);
  if (form.kind === 'field') return form.field || '';
  if (form.kind === 'math') return `${operand(form.left)} ${form.op} ${operand(form.right)}`;
  if (form.kind === 'join') {
    const parts = form.parts.filter((p) => (p.field ? true : p.text !== undefined && p.text !== ''));
    if (!parts.length) return '""';
    const out = parts.map((p) => (p.field ? (['text', 'email', 'phone', 'url', 'choice'].includes(typeOf[p.field]) ? p.field : `string(${p.field})`) : JSON.stringify(p.text)));
    // a single Field still reads as text
    return out.length === 1 && parts[0].field ? `"" + ${out[0]}` : out.join(' + ');
  }
  return form.cel || '';
}

// split `a + "b" + string(c)` at the top-level pluses (none inside strings or brackets)
function plusParts(expr) {
  const parts = [];
  let depth = 0, inStr = false, start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (inStr) { if (c === '\\') i++; else if (c === '"') inStr = false; continue; }
    if (c === '"') inStr = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '+' && depth === 0) { parts.push(expr.slice(start, i).trim()); start = i + 1; }
  }
  parts.push(expr.slice(start).trim());
  return parts;
}

const parseOperand = (s) => (isField(s) ? { field: s } : NUMBER.test(s) ? { number: Number(s) } : null);

// CEL -> the form that shows it (kind 'cel' when none does)
export function parse(cel, targetType) {
  const e = String(cel ?? '').trim();
  if (e === '') return { kind: 'value', value: '' };
  if (NUMBER.test(e) && targetType === 'number') return { kind: 'value', value: Number(e) };
  if ((e === 'true' || e === 'false') && targetType === 'boolean') return { kind: 'value', value: e === 'true' };
  if (STRING.test(e) && targetType !== 'number' && targetType !== 'boolean') return { kind: 'value', value: JSON.parse(e) };
  if (isField(e)) return { kind: 'field', field: e };
  const m = e.match(/^(\S+) ([-+*/]) (\S+)$/);
  if (m && parseOperand(m[1]) && parseOperand(m[3])) {
    return { kind: 'math', left: parseOperand(m[1]), op: m[2], right: parseOperand(m[3]) };
  }
  const parts = plusParts(e);
  if (parts.length > 1) {
    const out = [];
    for (const p of parts) {
      const call = p.match(/^string\(([a-z][a-z0-9_]*)\)$/);
      if (STRING.test(p)) out.push({ text: JSON.parse(p) });
      else if (call) out.push({ field: call[1] });
      else if (isField(p)) out.push({ field: p });
      else return { kind: 'cel', cel: e };
    }
    if (out[0].text === '' && out.length === 2 && out[1].field) out.shift();   // `"" + name`
    return { kind: 'join', parts: out };
  }
  return { kind: 'cel', cel: e };
}
