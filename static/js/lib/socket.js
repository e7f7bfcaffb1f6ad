// The one way a page opens its Socket.IO connection and joins rooms. Rooms are joined on every
// (re)connect: the server forgets a client's rooms when its connection drops. The server checks
// each join (app/realtime.py may_join). `io` is the vendored socket.io.min.js, loaded by a classic
// <script> before the page's modules; without it the page simply has no live updates.

// live({rooms, transports}) -> {socket, join(room)} or null when Socket.IO is not loaded.
// join(room) adds a room later (joined at once when connected) and returns true when it is new.
export function live({ rooms = [], transports = ['websocket', 'polling'] } = {}) {
  if (typeof globalThis.io !== 'function') return null;
  const socket = globalThis.io({ transports });
  const wanted = new Set(rooms);
  const send = (room) => socket.emit('join', { room });
  socket.on('connect', () => wanted.forEach(send));
  const join = (room) => {
    if (wanted.has(room)) return false;
    wanted.add(room);
    if (socket.connected) send(room);
    return true;
  };
  return { socket, join };
}

// fn, delayed until `ms` have passed without another call (a burst of messages -> one refresh)
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}
