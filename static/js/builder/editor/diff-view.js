// Draws a comparison (diff.js) into the versions dialog's #diff: the "to" lane with added and
// changed cards highlighted and removed ones shown as ghosts, the Route changes, and what changed.
import { $, el } from '../../lib/dom.js';
import { state } from './state.js';
import { changeDetails, diffColumns, routeLines } from './diff.js';
import { icon } from './icons.js';

// d: the API's diff of from -> to ({stages|routes: {added, removed, changed}})
export function renderDiff(from, to, d, fromLabel, toLabel, target = $('#diff')) {
  const changed = d.stages.changed || {};
  const mini = ({ s, kind }) => el('div', { class: `card mini diff-${kind}`, dataset: { key: s.key, diff: kind } },
    el('div', { class: 'card-head' }, icon(state.typeByKey[s.type] || { name: s.type }), el('span', { class: 'name' }, s.name)),
    el('div', { class: 'muted small' }, kind === 'changed' ? `changed: ${changed[s.key].join(', ')}` : kind === 'same' ? 'unchanged' : kind));
  const details = changeDetails(from, to, d).map(({ kind, key, label, lines }) => el('div', { class: 'change-block', dataset: { [kind]: key } },
    el('h4', {}, `${kind === 'stage' ? 'Stage' : 'Route'} ${label}`, el('span', { class: 'muted small' }, ` (${key})`)),
    el('ul', { class: 'changes' }, ...lines.map(([path, before, after]) => el('li', { dataset: { path } },
      el('code', {}, path), ': ', el('span', { class: 'before' }, before), ' → ', el('span', { class: 'after' }, after))))));
  const routeItems = routeLines(d.routes).map(([kind, text]) => el('li', { class: `diff-${kind}` }, text));
  target.replaceChildren(
    el('h3', {}, `${fromLabel} → ${toLabel}`),
    el('div', { class: 'legend small' }, el('span', { class: 'diff-added' }, 'added'), el('span', { class: 'diff-changed' }, 'changed'), el('span', { class: 'diff-removed' }, 'removed')),
    el('div', { class: 'lane diff-lane' }, ...diffColumns(from, to, d).map((c) => el('div', { class: 'column' }, el('div', { class: 'cards' }, ...c.map(mini))))),
    routeItems.length ? el('ul', { class: 'route-diff' }, ...routeItems) : el('p', { class: 'muted small' }, 'Routes unchanged.'),
    details.length ? el('section', { class: 'diff-details' }, el('h3', {}, 'What changed'), ...details) : null);
}
