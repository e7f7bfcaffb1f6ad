// Who a setting names, picked from lists instead of typed as `team:X, user:a@b.c`: the chosen ones
// as chips (each with a remove button), and one list to add another — Teams, people, roles (and
// automation where allowed). A reference the lists do not know stays, shown as it is.
import { el } from '../../lib/dom.js';
import { state } from './state.js';

const ROLE_WORDS = { admin: 'admins', designer: 'designers', staff: 'all staff', manager: 'managers' };

// a reference in plain words
export function refLabel(ref) {
  const [kind, ...rest] = String(ref).split(':');
  const value = rest.join(':');
  if (ref === 'automation') return 'Automation (no person)';
  if (kind === 'team') return `Team ${value}`;
  if (kind === 'role') return `Every one of the ${ROLE_WORDS[value] || value}`;
  if (kind === 'user') { const u = state.people.users.find((x) => x.email === value); return u ? `${u.name} (${value})` : value; }
  if (kind === 'field') return `The person in “${state.fields.find((f) => f.key === value)?.name || value}”`;
  if (kind === 'round_robin') return `Take turns in ${rest.slice(1).join(':')}`;
  if (kind === 'least_loaded') return `Fewest open steps in ${rest.slice(1).join(':')}`;
  return ref;
}

// name: the control's name (tests and errors find it by it); label: what it is for; value: the list;
// onChange(list); opts: {automation, teamsOnly, values: (ref) => stored}
export function refPicker(label, value, onChange, { name, automation = false, teamsOnly = false, help = '' } = {}) {
  const chosen = [...(value || [])];
  const chips = el('ul', { class: 'ref-chips', 'aria-label': `${label}: chosen` });
  const add = el('select', { name, 'aria-label': `Add to ${label.toLowerCase()}` });
  const draw = () => {
    chips.replaceChildren(...(chosen.length ? chosen.map((ref) => el('li', { class: 'ref-chip', dataset: { ref } }, refLabel(ref),
      el('button', { type: 'button', class: 'link', 'aria-label': `Remove ${refLabel(ref)} from ${label.toLowerCase()}`, onclick: () => {
        chosen.splice(chosen.indexOf(ref), 1); onChange([...chosen]); draw();
      } }, '✕'))) : [el('li', { class: 'muted small none' }, 'nobody chosen')]));
    const opt = (ref) => el('option', { value: ref, disabled: chosen.includes(ref) }, refLabel(ref));
    add.replaceChildren(el('option', { value: '' }, '+ add…'),
      el('optgroup', { label: 'Teams' }, ...state.people.teams.map((t) => opt(teamsOnly ? t : `team:${t}`))),
      teamsOnly ? '' : el('optgroup', { label: 'Roles' }, ...Object.keys(ROLE_WORDS).map((r) => opt(`role:${r}`))),
      teamsOnly || !state.people.users.length ? '' : el('optgroup', { label: 'People' }, ...state.people.users.map((u) => opt(`user:${u.email}`))),
      automation ? opt('automation') : '');
    if (teamsOnly) [...add.querySelectorAll('option[value]')].forEach((o) => { if (o.value) o.textContent = `Team ${o.value}`; });
  };
  add.addEventListener('change', () => {
    if (add.value && !chosen.includes(add.value)) { chosen.push(add.value); onChange([...chosen]); }
    draw();
    add.focus();
  });
  draw();
  return el('div', { class: 'field ref-picker', dataset: { name } }, el('span', { class: 'lbl' }, label), chips, add,
    help ? el('small', { class: 'muted' }, help) : null);
}
