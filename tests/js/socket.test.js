// The one Socket.IO join helper (static/js/lib/socket.js), against a fake `io`.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

import { debounce, live } from '../../static/js/lib/socket.js';

function fakeIo() {
  const made = [];
  const io = (opts) => {
    const handlers = {};
    const socket = {
      opts, connected: false, emitted: [],
      on: (ev, fn) => { (handlers[ev] ||= []).push(fn); },
      emit: (ev, data) => socket.emitted.push([ev, data]),
      connect() { socket.connected = true; (handlers.connect || []).forEach((fn) => fn()); },
      drop() { socket.connected = false; },
    };
    made.push(socket);
    return socket;
  };
  io.made = made;
  return io;
}

afterEach(() => { delete globalThis.io; });

test('without Socket.IO on the page there is no live connection', () => {
  assert.equal(live({ rooms: ['process:1'] }), null);
});

test('rooms are joined on connect, and again after a reconnect', () => {
  globalThis.io = fakeIo();
  const { socket } = live({ rooms: ['dashboards', 'process:1'] });
  assert.deepEqual(socket.opts, { transports: ['websocket', 'polling'] });
  assert.deepEqual(socket.emitted, []);
  socket.connect();
  assert.deepEqual(socket.emitted, [['join', { room: 'dashboards' }], ['join', { room: 'process:1' }]]);
  socket.drop();
  socket.connect();
  assert.equal(socket.emitted.length, 4);
});

test('join adds a room: at once when connected, on every later connect, once', () => {
  globalThis.io = fakeIo();
  const conn = live({ transports: ['polling', 'websocket'] });
  assert.deepEqual(conn.socket.opts.transports, ['polling', 'websocket']);
  assert.equal(conn.join('process:7'), true);
  assert.deepEqual(conn.socket.emitted, []);            // not connected yet
  conn.socket.connect();
  assert.deepEqual(conn.socket.emitted, [['join', { room: 'process:7' }]]);
  assert.equal(conn.join('process:7'), false);          // already wanted: nothing sent
  assert.equal(conn.join('task:3'), true);
  assert.deepEqual(conn.socket.emitted.at(-1), ['join', { room: 'task:3' }]);
});

// a clock the test moves by hand, standing in for the global setTimeout / clearTimeout
function manualClock() {
  let now = 0, next = 1;
  const timers = new Map();
  const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
  globalThis.setTimeout = (fn, ms) => { timers.set(next, { fn, at: now + ms }); return next++; };
  globalThis.clearTimeout = (id) => { timers.delete(id); };
  return {
    tick(ms) {
      now += ms;
      for (const [id, t] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at <= now) { timers.delete(id); t.fn(); }
      }
    },
    restore() { Object.assign(globalThis, real); },
  };
}

test('debounce: a burst of calls is one call, with the last arguments, after the quiet time', () => {
  const clock = manualClock();
  try {
    const calls = [];
    const f = debounce((x) => calls.push(x), 250);
    f(1); f(2);
    clock.tick(200);
    f(3);
    clock.tick(249);
    assert.deepEqual(calls, []);
    clock.tick(1);
    assert.deepEqual(calls, [3]);
    f(4);
    clock.tick(250);
    assert.deepEqual(calls, [3, 4]);
  } finally { clock.restore(); }
});
