// Live parts of the editor over Socket.IO: who else has this Process open (builder:open every 30 s,
// builder:presence back), and, once the Process is published, the count of Tasks per Stage on the
// cards, refreshed when its Tasks change (room process:<id>).
import { api } from '../../lib/api.js';
import { $, el } from '../../lib/dom.js';
import { debounce, live } from '../../lib/socket.js';
import { KEY, ME, PID, state, view } from './state.js';

let conn = null;

export function initLive() {
  // long-polling first, then upgraded to a websocket
  conn = live({ rooms: state.currentVersion ? [`process:${PID}`] : [], transports: ['polling', 'websocket'] });
  if (!conn) return;
  const { socket } = conn;
  const open = () => socket.emit('builder:open', { process: KEY });
  socket.on('connect', () => { open(); loadCounts(); });
  setInterval(() => socket.connected && open(), 30000);
  socket.on('builder:presence', (msg) => {
    if (msg.process !== KEY) return;
    const others = (msg.users || []).filter((u) => u.id !== ME);
    $('#presence').replaceChildren(...(others.length ? [el('span', { class: 'muted' }, 'Also editing: '),
      ...others.map((u) => el('span', { class: 'avatar', title: u.name, dataset: { user: u.name } }, u.name))] : []));
  });
  socket.on('task.changed', debounce(loadCounts, 300));
}

// the Processes and Splits a Route may target: fetched again when the page comes back into view
// (a Process created in another tab appears in the list without a reload)
export function followTargets() {
  const refresh = async () => {
    if (document.hidden) return;
    try {
      const [processes, splits] = await Promise.all([api('GET', '/api/v1/processes'), api('GET', '/api/v1/splits')]);
      const before = JSON.stringify([state.processes.map((p) => [p.key, p.name]), state.splits.map((x) => [x.key, x.name])]);
      state.processes = processes; state.splits = splits;
      if (JSON.stringify([processes.map((p) => [p.key, p.name]), splits.map((x) => [x.key, x.name])]) === before) return;
      view.renderLane();
      if (state.selected?.kind === 'route' && !$('#panel').contains(document.activeElement)) view.renderPanel();
    } catch { /* the lists stay as they were */ }
  };
  window.addEventListener('focus', refresh);
  document.addEventListener('visibilitychange', refresh);
  // opening the Target list: the newest Processes are in it
  document.addEventListener('pointerdown', (e) => { if (e.target.closest?.('#panel select[name="route.target"]')) refresh(); }, true);
}

// after the first publish: follow the Process's Tasks from now on
export function joinLive() {
  if (!state.currentVersion || !conn) return;
  if (conn.join(`process:${PID}`) && conn.socket.connected) loadCounts();
}

async function loadCounts() {
  if (!state.currentVersion) return;
  try {
    const c = await api('GET', `/builder/${KEY}/counts`);
    state.counts = c.stages || {};
    view.renderLane();
  } catch { /* counts are decoration */ }
}
