// The admins' People page: invitations, roles and Teams, deactivation and password links through
// /api/v1/users and /api/v1/teams. Each change reloads the page (server-rendered) with its message.
import { api, ApiError, errorLines } from '../lib/api.js';
import { $, el } from '../lib/dom.js';

const KEY = 'procly.people.message';
const status = $('#people-status');

function show(message, kind = 'ok', lines = []) {
  status.replaceChildren(el('div', { class: `flash ${kind}` }, message,
    ...(lines.length ? [el('ul', {}, ...lines.map((l) => el('li', {}, l)))] : [])));
}

function done(message) {
  globalThis.sessionStorage.setItem(KEY, message);
  globalThis.location.reload();
}

async function attempt(fn, message) {
  try {
    const answer = await fn();
    done(typeof message === 'function' ? message(answer) : message);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    show(err.message, 'error', errorLines(err.details));
  }
}

const selected = (select) => [...select.selectedOptions].map((o) => o.value);

const saved = globalThis.sessionStorage.getItem(KEY);
if (saved) {
  globalThis.sessionStorage.removeItem(KEY);
  show(saved);
}

$('#invite').addEventListener('submit', (e) => {
  e.preventDefault();
  const f = e.target;
  attempt(() => api('POST', '/api/v1/users', {
    email: f.email.value, name: f.name.value, role: f.role.value, teams: selected(f.teams),
  }), (u) => `Invitation sent to ${u.email}.`);
});

$('#new-team').addEventListener('submit', (e) => {
  e.preventDefault();
  attempt(() => api('POST', '/api/v1/teams', { name: e.target.name.value }), (t) => `Team ${t.name} created.`);
});

document.addEventListener('submit', (e) => {
  const f = e.target.closest('form[data-user-form]');
  if (!f) return;
  e.preventDefault();
  const body = { teams: selected(f.teams) };
  if (!f.role.disabled) body.role = f.role.value;
  attempt(() => api('PATCH', `/api/v1/users/${f.dataset.userForm}`, body), (u) => `Saved ${u.name}: ${u.role}.`);
});

const ACTIONS = {
  deactivate: (u) => `${u.name} is deactivated.`,
  reactivate: (u) => `${u.name} can sign in again.`,
  'password-reset': (u) => `A password link was sent to ${u.email}.`,
};

document.addEventListener('click', (e) => {
  const btn = e.target.closest('button[data-action]');
  if (!btn || e.defaultPrevented) return;
  attempt(() => api('POST', `/api/v1/users/${btn.dataset.user}/${btn.dataset.action}`), ACTIONS[btn.dataset.action]);
});
