// The condition editor's CEL <-> groups conversion (static/js/builder/conditions.js): what the
// point-and-click editor can show, what it writes back, and what opens in advanced mode.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { parseCel, toCel } from '../../static/js/builder/conditions.js';

const FIELDS = [
  { key: 'budget', type: 'number' }, { key: 'vip', type: 'boolean' },
  { key: 'location', type: 'text' }, { key: 'name', type: 'text' },
];
const roundTrip = (expr) => { const tree = parseCel(expr); return tree === null ? null : toCel(tree, FIELDS); };
const cond = (field, op, value) => ({ type: 'cond', field, op, value });

describe('parseCel', () => {
  test('an empty or blank expression is an empty all-of group', () => {
    assert.deepEqual(parseCel(''), { type: 'group', join: 'and', items: [] });
    assert.deepEqual(parseCel('   '), { type: 'group', join: 'and', items: [] });
    assert.deepEqual(parseCel(null), { type: 'group', join: 'and', items: [] });
  });

  test('one comparison is an all-of group holding it', () => {
    assert.deepEqual(parseCel('budget >= 100'), { type: 'group', join: 'and', items: [cond('budget', '>=', '100')] });
  });

  test('a chain of && (or of ||) is one flat group', () => {
    assert.deepEqual(parseCel('budget > 1 && vip == true && name != "x"'),
      { type: 'group', join: 'and', items: [cond('budget', '>', '1'), cond('vip', '==', 'true'), cond('name', '!=', 'x')] });
    assert.deepEqual(parseCel('budget < 10 || vip == false'),
      { type: 'group', join: 'or', items: [cond('budget', '<', '10'), cond('vip', '==', 'false')] });
  });

  test('&& binds tighter than ||: a && b || c is any-of [all-of [a, b], c]', () => {
    assert.deepEqual(parseCel('budget > 5 && vip == true || name == "x"'), {
      type: 'group', join: 'or', items: [
        { type: 'group', join: 'and', items: [cond('budget', '>', '5'), cond('vip', '==', 'true')] },
        cond('name', '==', 'x'),
      ],
    });
    assert.deepEqual(parseCel('name == "x" || budget > 5 && vip == true'), {
      type: 'group', join: 'or', items: [
        cond('name', '==', 'x'),
        { type: 'group', join: 'and', items: [cond('budget', '>', '5'), cond('vip', '==', 'true')] },
      ],
    });
  });

  test('brackets make a nested group; redundant ones disappear', () => {
    assert.deepEqual(parseCel('(budget > 5 || vip == true) && location == "north"'), {
      type: 'group', join: 'and', items: [
        { type: 'group', join: 'or', items: [cond('budget', '>', '5'), cond('vip', '==', 'true')] },
        cond('location', '==', 'north'),
      ],
    });
    assert.deepEqual(parseCel('((budget > 1))'), { type: 'group', join: 'and', items: [cond('budget', '>', '1')] });
  });

  test('string literals are unescaped, numbers and booleans kept as written', () => {
    assert.deepEqual(parseCel('name == "a \\"quoted\\" (word)"').items[0], cond('name', '==', 'a "quoted" (word)'));
    assert.deepEqual(parseCel('budget >= -2.5').items[0], cond('budget', '>=', '-2.5'));
  });

  test('anything outside the subset is null (the editor opens in advanced mode)', () => {
    for (const expr of [
      'size(name) > 3', '!(vip == true)', 'location in ["north", "south"]', 'budget > 1 &&', '(budget > 1',
      'budget > 1)', 'budget', '100 < budget', 'budget > other', 'Budget > 1', 'budget > 1 & vip == true',
      'budget > 1 ? true : false', 'name == \'single\'',
    ]) assert.equal(parseCel(expr), null, expr);
  });
});

describe('toCel', () => {
  test('literals follow the Field type: numbers bare, booleans true/false, text quoted', () => {
    const g = { type: 'group', join: 'and', items: [cond('budget', '>', '0100'), cond('vip', '==', 'false'), cond('location', '==', 'say "hi"')] };
    assert.equal(toCel(g, FIELDS), 'budget > 100 && vip == false && location == "say \\"hi\\""');
  });

  test('a number Field with a non-number value is written as a string (the type check then reports it)', () => {
    assert.equal(toCel({ type: 'group', join: 'and', items: [cond('budget', '==', 'abc')] }, FIELDS), 'budget == "abc"');
    assert.equal(toCel({ type: 'group', join: 'and', items: [cond('budget', '==', '')] }, FIELDS), 'budget == ""');
  });

  test('a boolean Field is true unless the value is false', () => {
    assert.equal(toCel({ type: 'group', join: 'and', items: [cond('vip', '==', '')] }, FIELDS), 'vip == true');
    assert.equal(toCel({ type: 'group', join: 'and', items: [cond('vip', '==', false)] }, FIELDS), 'vip == false');
  });

  test('rows without a field and empty groups are left out; an empty tree is ""', () => {
    assert.equal(toCel({ type: 'group', join: 'and', items: [] }, FIELDS), '');
    const g = { type: 'group', join: 'or', items: [cond('', '==', ''), { type: 'group', join: 'and', items: [] }, cond('budget', '<', '3')] };
    assert.equal(toCel(g, FIELDS), 'budget < 3');
  });

  test('nested groups of two or more terms are bracketed, single-term ones are not', () => {
    const g = { type: 'group', join: 'and', items: [
      { type: 'group', join: 'or', items: [cond('budget', '>', '5'), cond('vip', '==', 'true')] },
      { type: 'group', join: 'or', items: [cond('name', '==', 'x')] },
    ] };
    assert.equal(toCel(g, FIELDS), '(budget > 5 || vip == true) && name == "x"');
  });
});

describe('round trip: parse, then write back', () => {
  const CASES = {
    'budget >= 100': 'budget >= 100',
    'budget >= 100 && location != "out_of_area"': 'budget >= 100 && location != "out_of_area"',
    'budget < 10 || vip == true': 'budget < 10 || vip == true',
    // precedence: && binds tighter than ||, made visible as a group
    'budget > 5 && vip == true || name == "x"': '(budget > 5 && vip == true) || name == "x"',
    '(budget > 5 || vip == true) && location == "north"': '(budget > 5 || vip == true) && location == "north"',
    '((budget > 1))': 'budget > 1',
    'budget > 1 && (budget < 9 && vip == false)': 'budget > 1 && budget < 9 && vip == false',
    'name == "a \\"quoted\\" (word)"': 'name == "a \\"quoted\\" (word)"',
    '  budget>1&&vip==true  ': 'budget > 1 && vip == true',
  };
  for (const [expr, expected] of Object.entries(CASES)) {
    test(expr, () => assert.equal(roundTrip(expr), expected));
  }

  test('what the editor writes parses back to the same tree', () => {
    for (const expected of Object.values(CASES)) assert.equal(roundTrip(expected), expected);
  });
});
