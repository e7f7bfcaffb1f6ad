// Typing in the panel never loses work: a text input or textarea applies its value after a short
// pause in typing (its `change` handler runs, as on blur), the save state reads "Unsaved changes…"
// from the first key, and a page left with typing pending is warned about (autosave.js). If the
// change rebuilt the panel, focus and the caret go back to the same control. Keys are checked as
// typed (format, duplicate) with the message next to the input, and applied only when valid.
import { el } from '../../lib/dom.js';

export const PAUSE_MS = 500;
const pending = new Map();   // control -> timer
export const typingPending = () => pending.size > 0;

let onTyping = () => {};
export function onTypingStart(fn) { onTyping = fn; }

function flush(ctl) {
  clearTimeout(pending.get(ctl));
  pending.delete(ctl);
  const { name } = ctl, label = ctl.getAttribute('aria-label'), at = ctl.selectionStart;
  const panel = ctl.closest('#panel');
  ctl.dispatchEvent(new Event('change', { bubbles: true }));
  if (ctl.isConnected || !panel) return;
  const sel = name ? `[name="${CSS.escape(name)}"]` : label ? `[aria-label="${CSS.escape(label)}"]` : null;
  const again = sel && panel.querySelector(sel);
  if (again) { again.focus(); try { again.setSelectionRange(at, at); } catch { /* not a text control */ } }
}

const TEXTUAL = 'input:not([type=checkbox]):not([type=radio]):not([type=range]):not([type=file]):not([data-key-input]), textarea';

// call once on a container: every text control in it, now or later, applies its value on a pause
export function applyOnPause(container) {
  container.addEventListener('input', (e) => {
    const ctl = e.target.closest(TEXTUAL);
    if (!ctl) return;
    onTyping();
    clearTimeout(pending.get(ctl));
    pending.set(ctl, setTimeout(() => flush(ctl), PAUSE_MS));
  });
  // a real change (blur, Enter) applies at once: the timer is dropped
  container.addEventListener('change', (e) => { if (pending.has(e.target)) { clearTimeout(pending.get(e.target)); pending.delete(e.target); } }, true);
}

// apply everything typed now (before publishing or leaving)
export function flushAll() { [...pending.keys()].forEach(flush); }

// the message for a key being typed, or '' when it is fine
export function keyProblem(value, taken, { what = 'stage' } = {}) {
  const v = value.trim();
  if (!v) return 'A key is required.';
  if (!/^[a-z][a-z0-9_]*$/.test(v)) return 'Use lowercase letters, digits and _, starting with a letter (e.g. check_budget).';
  if (taken.includes(v)) return `Another ${what} already has the key “${v}”.`;
  return '';
}

// a key input: checked on every key, applied on change only when valid (else the old key stays)
export function keyInput(label, value, { name, taken, what, apply }) {
  const id = `${name.replace(/\W/g, '-')}-error`;
  const msg = el('span', { class: 'err small key-error', id, role: 'alert' });
  const inp = el('input', { value, name, 'data-key-input': '', 'aria-describedby': id, autocomplete: 'off' });
  const check = () => {
    const p = keyProblem(inp.value, taken(), { what });
    msg.textContent = p;
    if (p) inp.setAttribute('aria-invalid', 'true'); else inp.removeAttribute('aria-invalid');
    return !p;
  };
  inp.addEventListener('input', check);
  inp.addEventListener('change', () => { if (check() && inp.value.trim() !== value) apply(inp.value.trim()); });
  return el('label', {}, label, inp, msg);
}
