// Live updates for the staff queue (#work) and the Task page (#task-root). Socket messages carry ids
// and statuses only; on a message the page re-fetches its own permission-checked HTML (?partial=1)
// and swaps the live parts.
import { getHtml } from '../lib/api.js';
import { debounce, live } from '../lib/socket.js';

// "My work": the list of runs and its counts; the unread-notifications badge
function queue(box) {
  const rooms = (box.dataset.rooms || '').split(',').filter(Boolean).map((id) => `process:${id}`);
  const refresh = debounce(async () => {
    box.innerHTML = await getHtml(box.dataset.partial);
    // the counts of the whole queue (the list shows one page of it), counted by the server
    const counts = box.querySelector('#work-counts');
    document.getElementById('count-open').textContent = counts.dataset.open;
    document.getElementById('count-overdue').textContent = `${counts.dataset.overdue} overdue`;
  }, 250);
  const conn = live({ rooms });
  if (!conn) return;
  conn.socket.on('task.changed', refresh);
  conn.socket.on('notification', () => {
    const unread = document.getElementById('count-unread');
    if (unread) unread.textContent = (parseInt(unread.textContent, 10) || 0) + 1;
  });
}

// the Task page: every [data-live] part with an id is replaced by its fresh copy
function task(root) {
  const refresh = debounce(async () => {
    const doc = new DOMParser().parseFromString(await getHtml(root.dataset.partial), 'text/html');
    document.querySelectorAll('[data-live]').forEach((part) => {
      if (!part.isConnected) return;   // inside a part already replaced
      const fresh = part.id && doc.getElementById(part.id);
      // never clobber a form the user is typing in, nor a file upload under way
      if (fresh && !part.contains(document.activeElement) && !part.querySelector('[data-upload][data-busy]')) part.replaceWith(fresh);
    });
    const st = doc.getElementById('task-status');
    if (st) document.getElementById('task-status').textContent = st.textContent;
    document.body.dataset.liveUpdates = String(parseInt(document.body.dataset.liveUpdates || '0', 10) + 1);
  }, 200);
  const conn = live({ rooms: [`task:${root.dataset.task}`] });
  if (!conn) return;
  conn.socket.on('task.changed', refresh);
  conn.socket.on('comment.created', refresh);
}

const work = document.getElementById('work');
const taskRoot = document.getElementById('task-root');
if (work) queue(work);
else if (taskRoot) task(taskRoot);
