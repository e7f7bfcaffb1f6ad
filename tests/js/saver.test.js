// The autosave state machine (static/js/builder/editor/saver.js), driven with fake timers and a
// server whose answers the test releases one at a time.
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';

import { ApiError } from '../../static/js/lib/api.js';
import { createSaver } from '../../static/js/builder/editor/saver.js';

function fakeTimers() {
  let next = 1;
  const pending = new Map();
  return {
    setTimeout: (fn, ms) => { pending.set(next, { fn, ms }); return next++; },
    clearTimeout: (id) => { pending.delete(id); },
    pending,
    fire() { const all = [...pending.values()]; pending.clear(); all.forEach((t) => t.fn()); },
  };
}

// put() calls wait here until the test answers them
function fakeServer() {
  const calls = [];
  return {
    calls,
    put: (definition, revision) => new Promise((resolve, reject) => calls.push({ definition, revision, resolve, reject })),
    inFlight: () => calls.filter((c) => !c.done).length,
    async answer(i, result) { calls[i].done = true; calls[i].resolve(result); await settle(); },
    async fail(i, err) { calls[i].done = true; calls[i].reject(err); await settle(); },
  };
}
const settle = () => new Promise((r) => setImmediate(r));

let state, timers, server, log, saver;
beforeEach(() => {
  state = { def: { stages: [{ key: 'a' }], routes: [] }, revision: 3, errors: [], saving: false, dirty: false, again: false, conflict: null };
  timers = fakeTimers();
  server = fakeServer();
  log = [];
  saver = createSaver({
    state, put: server.put, timers,
    on: {
      status: (t) => log.push(['status', t]), store: (d) => log.push(['store', d]),
      errorsChanged: () => log.push(['errorsChanged']), conflict: (d) => log.push(['conflict', d]),
    },
  });
});

describe('a burst of changes', () => {
  test('is one save, 700 ms after the last change, of the latest definition', async () => {
    saver.schedule();
    state.def.stages.push({ key: 'b' });
    saver.schedule();
    saver.schedule();
    assert.equal(timers.pending.size, 1);
    assert.equal([...timers.pending.values()][0].ms, 700);
    assert.equal(state.dirty, true);
    assert.deepEqual(log.slice(0, 2), [['store', true], ['status', 'Unsaved changes…']]);
    assert.equal(server.calls.length, 0);
    timers.fire();
    assert.equal(server.calls.length, 1);
    assert.deepEqual(server.calls[0].definition.stages.map((s) => s.key), ['a', 'b']);
    assert.equal(server.calls[0].revision, 3);
    assert.equal(state.saving, true);
    assert.equal(state.dirty, false);
  });

  test('the answer gives the new revision and errors; the local copy is dropped', async () => {
    saver.schedule();
    timers.fire();
    log.length = 0;
    await server.answer(0, { revision: 4, errors: [] });
    assert.equal(state.revision, 4);
    assert.equal(state.saving, false);
    assert.deepEqual(log, [['store', false], ['status', 'All changes saved']]);   // errors unchanged: no re-render
  });

  test('new validation errors are counted and re-rendered', async () => {
    saver.schedule();
    timers.fire();
    log.length = 0;
    const errors = [{ path: 'stages[0].name', message: 'required' }, { path: '', message: 'x' }];
    await server.answer(0, { revision: 4, errors });
    assert.deepEqual(state.errors, errors);
    assert.deepEqual(log, [['store', false], ['status', 'Saved · 2 problems to fix before publishing'], ['errorsChanged']]);
  });

  test('the sent definition is a copy: edits made while it is in flight are not in it', async () => {
    saver.schedule();
    timers.fire();
    state.def.stages[0].key = 'changed';
    assert.equal(server.calls[0].definition.stages[0].key, 'a');
  });
});

describe('a change made while a save is in flight', () => {
  test('is saved right after it, on the new revision, never two saves at once', async () => {
    saver.schedule();
    timers.fire();
    state.def.stages.push({ key: 'b' });
    saver.schedule();
    timers.fire();                                 // the timer fires while the first save waits
    assert.equal(server.calls.length, 1);
    assert.equal(state.again, true);
    await server.answer(0, { revision: 4, errors: [] });
    assert.equal(server.calls.length, 2);
    assert.equal(server.inFlight(), 1);
    assert.equal(server.calls[1].revision, 4);
    assert.deepEqual(server.calls[1].definition.stages.map((s) => s.key), ['a', 'b']);
    await server.answer(1, { revision: 5, errors: [] });
    assert.equal(state.revision, 5);
    assert.equal(state.dirty, false);
    assert.equal(state.saving, false);
    assert.ok(log.some(([k, v]) => k === 'store' && v === true));
    assert.deepEqual(log.at(-1), ['status', 'All changes saved']);
  });

  test('the first answer keeps the local copy, since the newer edit is not saved yet', async () => {
    saver.schedule();
    timers.fire();
    saver.schedule();
    log.length = 0;
    await server.answer(0, { revision: 4, errors: [] });
    assert.deepEqual(log[0], ['store', true]);
  });
});

describe('failures', () => {
  test('a 409 is a conflict: reported once, and nothing is saved until it is resolved', async () => {
    saver.schedule();
    timers.fire();
    await server.fail(0, new ApiError(409, { error: { code: 'conflict', message: 'stale', details: { updated_by: 'Ada' } } }));
    assert.deepEqual(log.at(-1), ['conflict', { updated_by: 'Ada' }]);
    assert.equal(state.dirty, true);
    state.conflict = { updated_by: 'Ada' };       // what the page's conflict banner records
    saver.schedule();
    assert.equal(timers.pending.size, 0);
    await saver.save();
    assert.equal(server.calls.length, 1);
    state.conflict = null;                        // "Keep mine"
    saver.save();
    assert.equal(server.calls.length, 2);
  });

  test('another failure says why and leaves the draft dirty for the next change to retry', async () => {
    saver.schedule();
    timers.fire();
    await server.fail(0, new ApiError(500, null, 'INTERNAL SERVER ERROR'));
    assert.deepEqual(log.at(-1), ['status', 'Not saved: HTTP 500 INTERNAL SERVER ERROR']);
    assert.equal(state.dirty, true);
    assert.equal(state.saving, false);
    saver.schedule();
    timers.fire();
    assert.equal(server.calls.length, 2);
  });

  test('a network error is not a conflict either', async () => {
    saver.schedule();
    timers.fire();
    await server.fail(0, new TypeError('Failed to fetch'));
    assert.deepEqual(log.at(-1), ['status', 'Not saved: Failed to fetch']);
  });
});

test('saving with nothing changed sends nothing', async () => {
  await saver.save();
  assert.equal(server.calls.length, 0);
  assert.deepEqual(log, []);
});
