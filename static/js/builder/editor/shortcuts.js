// The editor's keyboard: every action applies to the card that has the focus (never to a card that
// is merely selected elsewhere), the panel's Escape, undo / redo, and the shortcut help (`?`).
import { $ } from '../../lib/dom.js';
import { joinColumn } from './model.js';
import { CAN_EDIT, columns, focusCard, setColumns, showNotice, stageByKey, state } from './state.js';
import { commit, redo, select, undo } from './history.js';
import { deleteStage, moveStage } from './lane.js';

function removeFocused(key) {
  const order = state.def.stages.map((s) => s.key);
  const next = order[order.indexOf(key) + 1] || order[order.indexOf(key) - 1];
  const name = stageByKey(key)?.name || key;
  deleteStage(key);
  showNotice(`Deleted the stage “${name}”. Ctrl+Z brings it back.`, 'ok');
  if (next) focusCard(next); else $('#lane').focus();
}

function parallel(key, dir) {
  commit(() => setColumns(joinColumn(columns(), key, dir)));
  focusCard(key);
}

export function initShortcuts() {
  document.addEventListener('keydown', (e) => {
    const inField = e.target.closest('input, textarea, select, dialog, [contenteditable]');
    const mod = e.ctrlKey || e.metaKey;
    if (mod && e.key.toLowerCase() === 'z' && !inField && CAN_EDIT) { e.preventDefault(); if (e.shiftKey) redo(); else undo(); return; }
    if (mod && e.key.toLowerCase() === 'y' && !inField && CAN_EDIT) { e.preventDefault(); redo(); return; }
    if (e.key === '?' && !inField && !document.querySelector('dialog[open]')) { e.preventDefault(); $('#shortcuts-dialog').showModal(); return; }
    if (e.key === 'Escape' && state.selected && !e.target.closest('dialog') && !document.querySelector('dialog[open]')) {
      e.preventDefault();
      const back = state.selected.kind === 'stage' ? state.selected.key : state.def.routes[state.selected.index]?.stage;
      if ($('#panel').contains(document.activeElement)) document.activeElement.blur();   // apply a pending change first
      select(null);
      if (back) focusCard(back);
      return;
    }
    // the rest acts on the focused card only
    const card = !inField && CAN_EDIT ? e.target.closest('#lane .card[data-key]') : null;
    if (!card) return;
    const key = card.dataset.key;
    if (e.altKey && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) { e.preventDefault(); moveStage(key, e.key === 'ArrowLeft' ? -1 : 1); }
    else if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) { e.preventDefault(); parallel(key, e.key === 'ArrowUp' ? -1 : 1); }
    else if (e.key === 'Delete') { e.preventDefault(); removeFocused(key); }
  });
}
