// A Process's board (templates/worklist/board.html): live over Socket.IO (a `task.changed` message in
// the Process's room re-fetches the columns, already filtered and permission-checked by the server),
// cards dragged between Stages with SortableJS, and the keyboard way to the same: each card's
// "Move…" button opens a dialog naming the target Stage. The server decides every drop
// (app.tasks.moves.drop_on_stage); a refusal is shown as the server's own sentence.
import { getHtml, parseBody } from '../lib/api.js';
import { $ } from '../lib/dom.js';
import { debounce, live } from '../lib/socket.js';

const board = document.getElementById('board');
const dialog = document.getElementById('b-dialog');
const status = document.getElementById('b-status');
const form = document.getElementById('b-move-form');
let dragging = false;
let returnFocus = null;

function say(text, error = false) {
  status.textContent = text;
  status.classList.toggle('err', error);
}

async function refresh() {
  if (dragging) { later(); return; }
  const focusedTask = document.activeElement?.closest?.('.b-card')?.dataset.task;
  board.innerHTML = await getHtml(board.dataset.partial);
  sortable();
  if (focusedTask) $(`.b-card[data-task="${focusedTask}"] a`, board)?.focus();
  document.body.dataset.boardUpdates = String(parseInt(document.body.dataset.boardUpdates || '0', 10) + 1);
}
const later = debounce(refresh, 250);

// POST the move form's fields; the answer is {done, message} or the error shape
async function send(fields) {
  const body = new FormData(form);
  for (const [k, v] of Object.entries(fields)) body.set(k, v);
  const res = await fetch(form.action, { method: 'POST', body, credentials: 'same-origin',
    headers: { Accept: 'application/json' } });
  const data = parseBody(await res.text());
  if (!res.ok) throw new Error(data?.error?.message || `The server refused (HTTP ${res.status}).`);
  return data;
}

async function drop(fields) {
  try {
    const data = await send(fields);
    say(data.message);
    return true;
  } catch (err) {
    say(`Not moved: ${err.message}`, true);
    return false;
  } finally {
    await refresh();
  }
}

function openDialog(card, stage = '') {
  returnFocus = card.querySelector('.b-move') || card.querySelector('a');
  form.elements.task_id.value = card.dataset.task;
  form.elements.stage.value = stage;
  form.elements.reason.value = '';
  $('[data-title]', dialog).textContent = card.dataset.title;
  $('.b-error', dialog).hidden = true;
  dialog.showModal();
  (stage ? form.elements.reason : form.elements.stage).focus();
}

function closeDialog() {
  dialog.close();
  if (returnFocus?.isConnected) returnFocus.focus();
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('.b-error', dialog);
  try {
    const data = await send({});
    closeDialog();
    say(data.message);
    await refresh();
  } catch (e) {
    err.textContent = e.message;
    err.hidden = false;
  }
});
$('[data-close]', dialog).addEventListener('click', closeDialog);
dialog.addEventListener('cancel', (ev) => { ev.preventDefault(); closeDialog(); });

board.addEventListener('click', (ev) => {
  const btn = ev.target.closest('.b-move');
  if (btn) openDialog(btn.closest('.b-card'));
});
board.addEventListener('submit', async (ev) => {   // "Advance" buttons: the same endpoint, no reload
  const f = ev.target.closest('.b-advance');
  if (!f) return;
  ev.preventDefault();
  await drop({ task_id: f.elements.task_id.value, stage: f.elements.stage.value });
});

// SortableJS between the columns' lists; a drop on another Stage asks the server (an advance goes
// straight through, a move needs its reason first), and the board is re-read either way.
function sortable() {
  if (typeof globalThis.Sortable !== 'function') return;
  board.querySelectorAll('.b-cards[data-stage]').forEach((list) => {
    if (!list.dataset.stage) return;
    globalThis.Sortable.create(list, {
      group: 'board', sort: false, draggable: '.b-card[data-can]:not([data-can=""])', forceFallback: true,
      onStart: () => { dragging = true; },
      onEnd: async (ev) => {
        dragging = false;
        const card = ev.item;
        const to = ev.to.dataset.stage;
        if (ev.from === ev.to) return;
        ev.from.insertBefore(card, ev.from.children[ev.oldIndex] || null);   // back until the server says
        if (ev.from.dataset.gate && to === ev.from.dataset.stage) {   // through the gate into its Stage
          card.classList.add('b-busy');
          await drop({ task_id: card.dataset.task, stage: to });
        } else if (to !== ev.from.dataset.stage) {
          openDialog(card, to);
        }
      },
    });
  });
}

sortable();
const conn = live({ rooms: [`process:${board.dataset.process}`] });
if (conn) conn.socket.on('task.changed', later);
window.procly_board = { refresh, conn };
