// Split editor: one slider per variant; moving one rescales the others so the total stays 100 %.
// Live counts of the Tasks each variant was given (refreshed while the page is open) and "Promote":
// the winner takes every new Task (weights 100 / 0, audited).
import { api } from '../lib/api.js';
import { el } from '../lib/dom.js';
import { rescale, toPercent } from './weights.js';

const box = document.getElementById('split');
const KEY = box.dataset.key;
const CAN_EDIT = box.dataset.canEdit === 'true';
const REFRESH_MS = 5000;
let variants = [];
let weights = {};
let unsaved = false;
const state = (t) => { document.getElementById('split-state').textContent = t; };
const nameOf = (v) => `${v.process_name || v.process}${v.version ? ` v${v.version}` : ''}`;

function render() {
  document.getElementById('variants').replaceChildren(...variants.map((v) => el('div', { class: 'split-row', dataset: { variant: v.key } },
    el('div', {}, el('strong', {}, nameOf(v)), el('div', { class: 'muted small' }, v.version ? `fixed Version ${v.version}` : 'its current Version')),
    el('input', { type: 'range', min: 0, max: 100, step: 1, value: weights[v.key], disabled: !CAN_EDIT, 'aria-label': `Weight of ${nameOf(v)}`,
      oninput: (e) => { weights = rescale(weights, v.key, Number(e.target.value)); update(); } }),
    el('div', { class: 'weight' }, `${weights[v.key]} %`),
    el('div', { class: 'share' }, el('span', { class: 'count' }, countText(v)),
      el('div', { class: 'share-bar' }, el('span', { style: `width:${(v.share * 100).toFixed(1)}%` }))),
    CAN_EDIT ? el('button', { type: 'button', class: 'secondary promote', 'aria-label': `Promote ${nameOf(v)}`, onclick: () => promote(v) }, 'Promote') : null)));
  document.getElementById('total').textContent = Object.values(weights).reduce((a, b) => a + b, 0);
}

const countText = (v) => `${v.tasks ?? 0} Task${v.tasks === 1 ? '' : 's'} (${(v.share * 100).toFixed(1)} % of Tasks so far)`;

function update() {
  for (const row of document.querySelectorAll('.split-row')) {
    const k = row.dataset.variant;
    row.querySelector('input').value = weights[k];
    row.querySelector('.weight').textContent = `${weights[k]} %`;
  }
  document.getElementById('total').textContent = Object.values(weights).reduce((a, b) => a + b, 0);
  unsaved = true;
  state('Unsaved');
}

async function load() {
  const s = await api('GET', `/api/v1/splits/${KEY}`);
  variants = s.variants;
  weights = toPercent(Object.fromEntries(variants.map((v) => [v.key, v.weight])));
  unsaved = false;
  render();
}

// only the counts: weights being moved are left alone
async function refreshCounts() {
  if (document.hidden) return;
  try {
    const s = await api('GET', `/api/v1/splits/${KEY}`);
    for (const v of s.variants) {
      const row = document.querySelector(`.split-row[data-variant="${CSS.escape(v.key)}"]`);
      if (!row) continue;
      row.querySelector('.count').textContent = countText(v);
      row.querySelector('.share-bar span').style.width = `${(v.share * 100).toFixed(1)}%`;
    }
  } catch { /* the next tick tries again */ }
}

async function saveWeights(w, reason) {
  try {
    await api('PATCH', `/api/v1/splits/${KEY}`, { weights: w, reason });
    await load();
    state('Saved');
  } catch (err) { state(`Not saved: ${err.message}`); }
}

async function promote(v) {
  if (!window.confirm(`Promote ${nameOf(v)}? Every new Task goes to it from now on; Tasks already assigned keep their variant.`)) return;
  await saveWeights(Object.fromEntries(variants.map((x) => [x.key, x.key === v.key ? 100 : 0])), `promoted ${nameOf(v)}`);
}

document.getElementById('save-split')?.addEventListener('click', () => saveWeights(weights, document.getElementById('reason').value));
window.addEventListener('beforeunload', (e) => { if (unsaved) e.preventDefault(); });
setInterval(refreshCounts, REFRESH_MS);
load();
