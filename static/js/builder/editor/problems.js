// Every problem of the draft as a list: each entry names where it is in plain words and is a button
// that opens the Stage, Route or start panel holding it, with focus on the offending section.
import { $, el } from '../../lib/dom.js';
import { sectionOf } from './model.js';
import { state } from './state.js';
import { select } from './history.js';

const SECTIONS = { key: 'key', name: 'name', config: 'settings', reads: 'fields read', writes: 'fields written', sla: 'SLA', approval: 'approval',
  roles: 'roles', visibility: 'visibility', start_when: 'start condition', skip_when: 'skip condition', gate: 'gate', retry: 'retry',
  trigger: 'trigger', target: 'target', stage: 'source', after: 'runs after', escalate_to: 'escalation' };

// where an error is: {kind, key|index, label}
export function locate(path) {
  const m = path.match(/^(stages|routes)\[(\d+)\]/);
  const part = SECTIONS[sectionOf(path)] || sectionOf(path);
  if (m && m[1] === 'stages') {
    const s = state.def.stages[Number(m[2])];
    return s ? { kind: 'stage', key: s.key, label: `Stage “${s.name}” · ${part}` } : { label: path };
  }
  if (m) {
    const r = state.def.routes[Number(m[2])];
    return r ? { kind: 'route', index: Number(m[2]), label: `Route “${r.name || r.key}” · ${part}` } : { label: path };
  }
  if (path.startsWith('start')) return { kind: 'start', label: 'Starting Tasks' };
  return { label: path || 'The process' };
}

export function openProblem(e) {
  const at = locate(e.path);
  if (!at.kind) return;
  $('#publish-dialog')?.open && $('#publish-dialog').close();
  select(at.kind === 'stage' ? { kind: 'stage', key: at.key } : at.kind === 'route' ? { kind: 'route', index: at.index } : { kind: 'start' });
  const sec = $('#panel').querySelector(`[data-section="${CSS.escape(sectionOf(e.path))}"]`) || $('#panel');
  sec.scrollIntoView({ block: 'nearest' });
  (sec.querySelector('input, select, textarea, button') || $('#panel'))?.focus();
}

export function problemList(errors = state.errors) {
  return el('ul', { class: 'problems' }, ...errors.map((e) => {
    const at = locate(e.path);
    return el('li', {}, at.kind
      ? el('button', { type: 'button', class: 'link problem', dataset: { path: e.path }, onclick: () => openProblem(e) }, `${at.label}: ${e.message}`)
      : `${at.label}: ${e.message}`);
  }));
}

// the toolbar's "N problems" toggle and its list
export function renderProblems() {
  const btn = $('#problems-btn'), box = $('#problems-box');
  if (!btn) return;
  const n = state.errors.length;
  btn.hidden = !n;
  btn.textContent = `${n} problem${n === 1 ? '' : 's'}`;
  if (!n) { box.hidden = true; btn.setAttribute('aria-expanded', 'false'); }
  box.replaceChildren(el('strong', {}, 'To fix before publishing:'), problemList());
}

export function initProblems() {
  const btn = $('#problems-btn'), box = $('#problems-box');
  btn?.addEventListener('click', () => {
    box.hidden = !box.hidden;
    btn.setAttribute('aria-expanded', String(!box.hidden));
    if (!box.hidden) box.querySelector('button')?.focus();
  });
}
