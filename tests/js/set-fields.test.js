import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, toCel } from '../../static/js/builder/set-fields.js';

const typeOf = { budget: 'number', fee: 'number', name: 'text', city: 'text', urgent: 'boolean' };

test('each form writes CEL and reads it back (round trip)', () => {
  const cases = [
    [{ kind: 'value', value: 'in_area' }, 'text', '"in_area"'],
    [{ kind: 'value', value: 12.5 }, 'number', '12.5'],
    [{ kind: 'value', value: true }, 'boolean', 'true'],
    [{ kind: 'field', field: 'budget' }, 'number', 'budget'],
    [{ kind: 'math', left: { field: 'budget' }, op: '*', right: { number: 1.2 } }, 'number', 'budget * 1.2'],
    [{ kind: 'math', left: { field: 'budget' }, op: '-', right: { field: 'fee' } }, 'number', 'budget - fee'],
    [{ kind: 'join', parts: [{ field: 'name' }, { text: ' from ' }, { field: 'city' }] }, 'text', 'name + " from " + city'],
    [{ kind: 'join', parts: [{ text: 'Budget: ' }, { field: 'budget' }] }, 'text', '"Budget: " + string(budget)'],
  ];
  for (const [form, type, cel] of cases) {
    assert.equal(toCel(form, type, typeOf), cel);
    assert.deepEqual(parse(cel, type), form, cel);
  }
});

test('what the forms cannot show stays an expression', () => {
  for (const cel of ['budget > 10 ? "big" : "small"', 'size(name)', 'a + b * c']) assert.deepEqual(parse(cel, 'text'), { kind: 'cel', cel });
  assert.deepEqual(parse('', 'text'), { kind: 'value', value: '' });
});
