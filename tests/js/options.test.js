import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addOption, fromLabels, move, relabel, restore, retire, slug } from '../../static/js/builder/options.js';

test('labels become unique values; labels equal to the value are left out', () => {
  assert.equal(slug('In area!'), 'in_area');
  assert.deepEqual(fromLabels(['Web', 'Phone', 'web', '']), { choices: ['web', 'phone', 'web_2'], labels: { web: 'Web', phone: 'Phone', web_2: 'web' } });
});

test('add, rename, reorder, retire and restore', () => {
  let o = { choices: ['a', 'b'] };
  o = addOption(o, 'Out of area');
  assert.deepEqual(o.choices, ['a', 'b', 'out_of_area']);
  o = relabel(o, 'a', 'Alpha');
  assert.equal(o.labels.a, 'Alpha');
  o = move(o, 'out_of_area', -1);
  assert.deepEqual(o.choices, ['a', 'out_of_area', 'b']);
  assert.deepEqual(move(o, 'a', -1).choices, o.choices);
  o = retire(o, 'b');
  assert.deepEqual([o.choices, o.retired], [['a', 'out_of_area'], ['b']]);
  assert.equal(addOption(o, 'b').choices.at(-1), 'b_2');   // a retired value is not reused
  o = restore(o, 'b');
  assert.equal(o.retired, undefined);
  assert.deepEqual(o.choices, ['a', 'out_of_area', 'b']);
});
