// Publishing a new Version, the version history with rollback, and comparing two Versions.
import { ApiError, api } from '../../lib/api.js';
import { $, el } from '../../lib/dom.js';
import { CAN_EDIT, KEY, adopt, showNotice, showVersion, state, view } from './state.js';
import { save, setSaveState } from './autosave.js';
import { renderDiff } from './diff-view.js';
import { localDiff } from './diff.js';
import { joinLive } from './live.js';
import { problemList } from './problems.js';
import { flushAll } from './typing.js';

// saves what is pending, then publishes; returns null, or the problem to show in the dialog
async function publish(note) {
  if (state.dirty || state.saving) { await save(); while (state.saving) await new Promise((r) => setTimeout(r, 50)); }
  if (state.conflict) return 'Resolve the conflict first.';
  try {
    const v = await api('POST', `/api/v1/processes/${KEY}/publish`, { note });
    state.currentVersion = v.number;
    const d = await api('GET', `/api/v1/processes/${KEY}/draft`);
    adopt(d);
    view.renderLane(); view.renderPanel();
    showVersion(v.number);
    showNotice(`Published Version ${v.number}.`, 'ok');
    setSaveState('All changes saved');
    joinLive();
    return null;
  } catch (err) {
    if (err instanceof ApiError && err.details?.errors) {
      state.errors = err.details.errors; view.renderLane(); view.renderPanel();
      return problems();
    }
    return err.message;
  }
}

// the problems to fix, each a button opening its card
function problems() {
  const n = state.errors.length;
  return [el('strong', {}, `${n} problem${n === 1 ? '' : 's'} to fix before publishing (each opens where it is):`), problemList()];
}

// the draft compared with the published Version, drawn as the Versions dialog draws a comparison
async function showChanges() {
  const box = $('#publish-diff');
  if (!state.currentVersion) { box.replaceChildren(el('p', { class: 'muted' }, 'Nothing is published yet: this will be Version 1.')); return; }
  try {
    const v = await api('GET', `/api/v1/processes/${KEY}/versions/${state.currentVersion}`);
    const d = localDiff(v.definition, state.def);
    const same = !d.stages.added.length && !d.stages.removed.length && !Object.keys(d.stages.changed).length
      && !d.routes.added.length && !d.routes.removed.length && !Object.keys(d.routes.changed).length;
    renderDiff(v.definition, state.def, d, `v${v.number} (published)`, 'this draft', box);
    if (same) box.prepend(el('p', { class: 'muted' }, 'No change to the stages or routes since the published Version.'));
  } catch (err) { box.replaceChildren(el('p', { class: 'err' }, `Could not compare: ${err.message}`)); }
}

export function initPublish() {
  const dlg = $('#publish-dialog');
  if (!dlg || !$('#publish')) return;
  $('#publish').addEventListener('click', () => {
    flushAll();
    $('#publish-errors').replaceChildren(...(state.errors.length ? problems() : []));
    dlg.querySelector('textarea').value = '';
    dlg.showModal();
    dlg.querySelector('textarea').focus();
    showChanges();
  });
  $('#publish-form').addEventListener('submit', async (e) => {
    if (e.submitter?.value !== 'ok') return;
    e.preventDefault();
    $('#publish-confirm').disabled = true;
    const problem = await publish(dlg.querySelector('textarea').value);
    $('#publish-confirm').disabled = false;
    if (problem) $('#publish-errors').replaceChildren(...[].concat(problem)); else dlg.close();
  });
}

// the Versions dialog: the history (with Roll back) and the two Versions to compare
export async function showVersions() {
  const dlg = $('#versions-dialog');
  const versions = await api('GET', `/api/v1/processes/${KEY}/versions`);
  $('#diff').replaceChildren();
  $('#versions').replaceChildren(versions.length ? el('table', { class: 'grid versions' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Version'), el('th', {}, 'Author'), el('th', {}, 'Published'), el('th', {}, 'Note'), el('th', {}))),
    el('tbody', {}, ...versions.map((v) => el('tr', { dataset: { version: v.number } },
      el('td', {}, `v${v.number}`, v.number === state.currentVersion ? el('span', { class: 'badge' }, 'current') : ''),
      el('td', {}, v.author || '—'), el('td', {}, new Date(v.published_at).toLocaleString()), el('td', {}, v.note || ''),
      el('td', {}, CAN_EDIT && v.number !== state.currentVersion ? el('button', { type: 'button', class: 'secondary', dataset: { rollback: v.number }, onclick: () => rollback(v.number) }, 'Roll back') : ''))))) :
    el('p', { class: 'muted' }, 'Not published yet.'));
  const opts = (sel, pick) => $(sel).replaceChildren(...versions.map((v) => el('option', { value: v.number, selected: v.number === pick }, `v${v.number}`)));
  opts('#cmp-from', versions[1]?.number ?? versions[0]?.number);
  opts('#cmp-to', versions[0]?.number);
  $('.compare-bar').hidden = versions.length < 2;
  if (!dlg.open) dlg.showModal();
}

export async function compareVersions() {
  const a = Number($('#cmp-from').value), b = Number($('#cmp-to').value);
  const [d, va, vb] = await Promise.all([api('GET', `/api/v1/processes/${KEY}/diff?from=${a}&to=${b}`),
    api('GET', `/api/v1/processes/${KEY}/versions/${a}`), api('GET', `/api/v1/processes/${KEY}/versions/${b}`)]);
  renderDiff(va.definition, vb.definition, d, `v${a}`, `v${b}`);
}

// publishes a copy of an earlier Version as the new current one
async function rollback(number) {
  if (!confirm(`Publish a copy of Version ${number} as a new Version?`)) return;
  if (state.dirty) await save();
  try {
    const v = await api('POST', `/api/v1/processes/${KEY}/rollback`, { version: number, note: `Roll back to Version ${number}` });
    state.currentVersion = v.number;
    adopt(await api('GET', `/api/v1/processes/${KEY}/draft`));
    view.renderLane(); view.renderPanel();
    showVersion(v.number);
    showNotice(`Rolled back: Version ${v.number} is a copy of Version ${number}.`, 'ok');
    await showVersions();
  } catch (err) { alert(err.message); }
}

