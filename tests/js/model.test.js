// The lane editor's pure model (static/js/builder/editor/model.js): columns, keys, renames, errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import * as m from '../../static/js/builder/editor/model.js';

const keys = (cols) => cols.map((c) => c.map((s) => s.key));

describe('columns', () => {
  test('Stages sharing a column run in parallel; an omitted column follows the previous Stage', () => {
    const stages = [{ key: 'a', column: 0 }, { key: 'b', column: 0 }, { key: 'c' }, { key: 'd', column: 5 }, { key: 'e' }];
    assert.deepEqual(keys(m.columns(stages)), [['a', 'b'], ['c'], ['d'], ['e']]);
  });

  test('no Stages, no columns', () => assert.deepEqual(m.columns([]), []));

  test('fromColumns numbers the columns 0, 1, 2… and drops empty ones', () => {
    const a = { key: 'a', column: 3 }, b = { key: 'b' }, c = { key: 'c', column: 9 };
    const stages = m.fromColumns([[], [a, b], [], [c]]);
    assert.deepEqual(stages.map((s) => [s.key, s.column]), [['a', 0], ['b', 0], ['c', 1]]);
  });

  test('columns and fromColumns round-trip a lane', () => {
    const stages = [{ key: 'a', column: 0 }, { key: 'b', column: 1 }, { key: 'c', column: 1 }];
    assert.deepEqual(m.fromColumns(m.columns(stages)), stages);
  });
});

describe('keys and new Stages', () => {
  test('uniqueKey takes the first free number and makes the base a valid key', () => {
    const stages = [{ key: 'basic_1' }, { key: 'basic_2' }];
    assert.equal(m.uniqueKey(stages, 'basic'), 'basic_3');
    assert.equal(m.uniqueKey([], 'ai-prompt'), 'ai_prompt_1');
    assert.equal(m.uniqueKey([], '42'), 'stage_1');
  });

  test('newStage has the type, a numbered name and empty permissions', () => {
    const s = m.newStage([{ key: 'form_1' }], 'form', { key: 'form', name: 'Form' });
    assert.equal(s.key, 'form_2');
    assert.equal(s.name, 'Form 2');
    assert.equal(s.type, 'form');
    assert.deepEqual([s.reads, s.writes, s.config], [[], [], {}]);
    assert.equal(s.visibility.external, 'none');
    assert.deepEqual(Object.keys(s.roles), ['responsible', 'approver', 'informed', 'delegator']);
    assert.equal(m.newStage([], 'custom').name, 'custom 1');   // an unknown type is named by its key
  });

  test('renameStage changes the key and every reference to it', () => {
    const def = {
      stages: [{ key: 'a' }, { key: 'b', after: ['a', 'x'] }],
      routes: [{ key: 'r1', stage: 'a' }, { key: 'r2', stage: 'b' }, { key: 'r3', stage: null }],
    };
    m.renameStage(def, 'a', 'first');
    assert.deepEqual(def.stages, [{ key: 'first' }, { key: 'b', after: ['first', 'x'] }]);
    assert.deepEqual(def.routes.map((r) => r.stage), ['first', 'b', null]);
  });

  test('nextRouteNumber finds the first free route_N', () => {
    assert.equal(m.nextRouteNumber([]), 1);
    assert.equal(m.nextRouteNumber([{ key: 'route_1' }, { key: 'route_3' }]), 2);
  });
});

describe('validation errors', () => {
  const errors = [
    { path: 'stages[0]', message: 'x' }, { path: 'stages[0].sla.due', message: 'y' },
    { path: 'stages[10].name', message: 'z' }, { path: 'routes[0].target', message: 't' }, { path: '', message: 'g' },
    { path: 'start.writes', message: 's' },
  ];

  test('errorsFor holds the path and what is under it, not a longer index', () => {
    assert.deepEqual(m.errorsFor(errors, 'stages[0]').map((e) => e.message), ['x', 'y']);
    assert.deepEqual(m.errorsFor(errors, 'stages[1]'), []);
    assert.deepEqual(m.errorsFor(errors, 'start').map((e) => e.message), ['s']);
  });

  test('sectionOf names the panel section of a path', () => {
    assert.equal(m.sectionOf('stages[2].sla.due'), 'sla');
    assert.equal(m.sectionOf('stages[2].start_when'), 'start_when');
    assert.equal(m.sectionOf('routes[0].target'), 'target');
    assert.equal(m.sectionOf('stages[2]'), 'key');
  });

  test('generalErrors are the ones about no Stage or Route', () => {
    assert.deepEqual(m.generalErrors(errors).map((e) => e.message), ['g', 's']);
  });
});

describe('labels and defaults', () => {
  test('triggerLabel', () => {
    assert.equal(m.triggerLabel({ trigger: { type: 'stage_failed' } }), 'if failed');
    assert.equal(m.triggerLabel({ trigger: { type: 'approval_rejected' } }), 'if rejected');
    assert.equal(m.triggerLabel({ trigger: { type: 'condition', condition: 'budget < 1' } }), 'when budget is below 1');
    const fields = [{ key: 'budget', name: 'Budget' }, { key: 'location', name: 'Location', options: { labels: { out_of_area: 'Out of area' } } }];
    assert.equal(m.plainCondition('location == "out_of_area" && (budget >= 10 || eligible == true)', fields),
      'Location is Out of area and (Budget is at least 10 or eligible is yes)');
    assert.equal(m.triggerLabel({}), 'condition');
    assert.equal(m.triggerLabel({ trigger: { type: 'timeout', after: '5d' } }), 'after 5d without an answer');
    assert.equal(m.triggerLabel({ trigger: { type: 'sla_breached' } }), 'if overdue');
  });

  test('firstColumnWrites: what the first column writes, once each, columns as the server numbers them', () => {
    const stages = [
      { key: 'a', column: 1, writes: ['name', 'email'] }, { key: 'b', column: 1, writes: ['email', 'budget'] },
      { key: 'c', writes: ['notes'] },
    ];
    assert.deepEqual(m.firstColumnWrites(stages), ['name', 'email', 'budget']);
    assert.deepEqual(m.firstColumnWrites([{ key: 'a' }, { key: 'b', writes: ['x'] }]), []);
    assert.deepEqual(m.firstColumnWrites([]), []);
  });

  test('routeTarget: a Split, or a Process keeping the named Stage of a previous Process target', () => {
    assert.deepEqual(m.routeTarget('split:intake-ab', { process: 'p', stage: 's' }), { split: 'intake-ab' });
    assert.deepEqual(m.routeTarget('referral', { process: 'p', stage: 's' }), { process: 'referral', stage: 's' });
    assert.deepEqual(m.routeTarget('referral', { split: 'x', stage: 's' }), { process: 'referral' });
    assert.deepEqual(m.routeTarget('referral', undefined), { process: 'referral' });
  });

  test('routeTarget and targetValue: the end of the Task (keeping its label) and loops back to a Stage', () => {
    assert.deepEqual(m.routeTarget('end:rejected', { end: 'cancelled', label: 'spam' }), { end: 'rejected', label: 'spam' });
    assert.deepEqual(m.routeTarget('end:completed', { process: 'p' }), { end: 'completed' });
    assert.deepEqual(m.routeTarget('back:draft', { process: 'p', stage: 's' }), { stage: 'draft' });
    for (const t of [{ end: 'rejected' }, { split: 'ab' }, { stage: 'draft' }, { process: 'p', stage: 's' }, { process: 'p' }]) {
      assert.deepEqual(m.routeTarget(m.targetValue(t), t), t);
    }
  });

  test('isAssignment: the assignment references only', () => {
    for (const r of ['field:account_manager', 'round_robin:team:Intake', 'least_loaded:team:Ops Team']) assert.ok(m.isAssignment(r), r);
    for (const r of ['team:Intake', 'user:a@b.c', 'role:manager', 'automation', 'field:Bad', 'round_robin:Intake']) assert.ok(!m.isAssignment(r), r);
  });

  test('targetLabel names the target as people read it', () => {
    const ctx = { processes: [{ key: 'p', name: 'Follow-up' }], splits: [{ key: 'ab', name: 'Intake A/B' }], stages: [{ key: 'draft', name: 'Draft' }] };
    assert.equal(m.targetLabel({ target: { end: 'rejected', label: 'out of area' } }, ctx), 'end: rejected (out of area)');
    assert.equal(m.targetLabel({ target: { stage: 'draft' } }, ctx), 'back to Draft');
    assert.equal(m.targetLabel({ target: { split: 'ab' } }, ctx), 'split: Intake A/B');
    assert.equal(m.targetLabel({ target: { process: 'p', stage: 'x' } }, ctx), 'Follow-up:x');
    assert.equal(m.targetLabel({ target: {} }, ctx), '?');
  });

  test('list splits on commas and new lines and drops blanks', () => {
    assert.deepEqual(m.list(' team:Intake, user:a@b.c\n\nrole:staff ,'), ['team:Intake', 'user:a@b.c', 'role:staff']);
    assert.deepEqual(m.list(null), []);
  });
});
