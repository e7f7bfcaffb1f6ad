// The comparison model (static/js/builder/editor/diff.js) behind the versions dialog and the
// conflict's "Compare": what was added, removed and changed, and the readable before → after lines.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { changeDetails, diffColumns, localDiff, propertyChanges, readable, routeLines } from '../../static/js/builder/editor/diff.js';

const FROM = {
  stages: [
    { key: 'collect', name: 'Collect', column: 0, sla: { due: '48h' } },
    { key: 'check', name: 'Check', column: 1 },
    { key: 'old', name: 'Old', column: 1 },
  ],
  routes: [{ key: 'spam', name: 'Spam', stage: 'collect', target: { process: 'spam' } }, { key: 'gone', stage: null }],
};
const TO = {
  stages: [
    { key: 'collect', name: 'Collect', column: 0, sla: { due: '24h' } },
    { key: 'check', name: 'Check', column: 1 },
    { key: 'new', name: 'New', column: 2 },
  ],
  routes: [{ key: 'spam', name: 'Spam', stage: 'collect', target: { process: 'referral' } }, { key: 'added', stage: null }],
};

describe('localDiff', () => {
  test('added, removed and changed Stages and Routes, with the changed properties', () => {
    assert.deepEqual(localDiff(FROM, TO), {
      stages: { added: ['new'], removed: ['old'], changed: { collect: ['sla'] } },
      routes: { added: ['added'], removed: ['gone'], changed: { spam: ['target'] } },
    });
  });

  test('identical definitions differ in nothing', () => {
    const none = { added: [], removed: [], changed: {} };
    assert.deepEqual(localDiff(FROM, structuredClone(FROM)), { stages: none, routes: none });
    assert.deepEqual(localDiff({}, {}), { stages: none, routes: none });
  });
});

describe('diffColumns', () => {
  test('the "to" lane, each card marked, removed Stages as ghosts in their old column', () => {
    const cols = diffColumns(FROM, TO, localDiff(FROM, TO));
    assert.deepEqual(cols.map((c) => c.map(({ s, kind }) => [s.key, kind])), [
      [['collect', 'changed']],
      [['check', 'same'], ['old', 'removed']],
      [['new', 'added']],
    ]);
  });

  test('removed Stages beyond the last column keep a column each', () => {
    const from = { stages: [{ key: 'a', column: 0 }, { key: 'b', column: 1 }, { key: 'c', column: 2 }] };
    const to = { stages: [{ key: 'a', column: 0 }] };
    const cols = diffColumns(from, to, localDiff(from, to));
    assert.deepEqual(cols.map((c) => c.map(({ s, kind }) => `${s.key}:${kind}`)), [['a:same'], ['b:removed'], ['c:removed']]);
  });
});

test('routeLines: one line per Route change', () => {
  assert.deepEqual(routeLines(localDiff(FROM, TO).routes), [
    ['added', '+ route added'], ['removed', '− route gone'], ['changed', '~ route spam: target'],
  ]);
});

test('changeDetails: each changed Stage and Route with its readable lines', () => {
  assert.deepEqual(changeDetails(FROM, TO, localDiff(FROM, TO)), [
    { kind: 'stage', key: 'collect', label: 'Collect', lines: [['sla.due', '48h', '24h']] },
    { kind: 'route', key: 'spam', label: 'Spam', lines: [['target.process', 'spam', 'referral']] },
  ]);
});

describe('readable', () => {
  test('empty values are a dash, booleans yes / no, lists comma-separated', () => {
    for (const v of [null, undefined, '', [], {}]) assert.equal(readable(v), '—');
    assert.equal(readable(true), 'yes');
    assert.equal(readable(false), 'no');
    assert.equal(readable(0), '0');
    assert.equal(readable(['team:Intake', 'user:a@b.c']), 'team:Intake, user:a@b.c');
  });

  test('objects as "key value" parts, nested ones in brackets, empty parts left out', () => {
    assert.equal(readable({ required: true, approvers: ['team:Compliance'], sla: { due: '4h', reminders: [] } }),
      'required yes; approvers team:Compliance; sla (due 4h)');
  });

  test('long text is cut at 140 characters', () => {
    const text = readable({ instructions: 'x'.repeat(300) });
    assert.equal(text.length, 138);
    assert.ok(text.endsWith('…'));
  });
});

describe('propertyChanges', () => {
  test('plain objects are walked, lists compared whole', () => {
    assert.deepEqual(propertyChanges(
      { name: 'A', sla: { due: '48h', reminders: ['24h'] }, reads: ['a'] },
      { name: 'A', sla: { due: '4h', reminders: ['24h'], escalate_after: '2h' }, reads: ['a', 'b'] }),
    [['sla.due', '48h', '4h'], ['sla.escalate_after', '—', '2h'], ['reads', 'a', 'a, b']]);
  });

  test('a property appearing or disappearing', () => {
    assert.deepEqual(propertyChanges({ gate: { type: 'manual' } }, {}), [['gate.type', 'manual', '—']]);
    assert.deepEqual(propertyChanges({}, { approval: null }), []);   // null and absent read the same
  });

  test('differences that read the same are not listed', () => {
    assert.deepEqual(propertyChanges({ roles: { informed: [] } }, { roles: {} }), []);
  });
});
