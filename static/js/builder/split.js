// Split editor: one slider per variant; moving one rescales the others so the total stays 100 %.
import { api } from '../lib/api.js';
import { el } from '../lib/dom.js';
import { rescale, toPercent } from './weights.js';

const box = document.getElementById('split');
const KEY = box.dataset.key;
const CAN_EDIT = box.dataset.canEdit === 'true';
let variants = [];
let weights = {};

function render() {
  document.getElementById('variants').replaceChildren(...variants.map((v) => el('div', { class: 'split-row', dataset: { variant: v.key } },
    el('div', {}, el('strong', {}, v.key), el('div', { class: 'muted small' }, `${v.process}${v.version ? ` v${v.version}` : ' (current)'}`)),
    el('input', { type: 'range', min: 0, max: 100, step: 1, value: weights[v.key], disabled: !CAN_EDIT, 'aria-label': `Weight of ${v.key}`,
      oninput: (e) => { weights = rescale(weights, v.key, Number(e.target.value)); update(); } }),
    el('div', { class: 'weight' }, `${weights[v.key]} %`),
    el('div', { class: 'share' }, `${(v.share * 100).toFixed(1)} % of Tasks so far`,
      el('div', { class: 'share-bar' }, el('span', { style: `width:${(v.share * 100).toFixed(1)}%` }))))));
  document.getElementById('total').textContent = Object.values(weights).reduce((a, b) => a + b, 0);
}

function update() {
  for (const row of document.querySelectorAll('.split-row')) {
    const k = row.dataset.variant;
    row.querySelector('input').value = weights[k];
    row.querySelector('.weight').textContent = `${weights[k]} %`;
  }
  document.getElementById('total').textContent = Object.values(weights).reduce((a, b) => a + b, 0);
  document.getElementById('split-state').textContent = 'Unsaved';
}

async function load() {
  const s = await api('GET', `/api/v1/splits/${KEY}`);
  variants = s.variants;
  weights = toPercent(Object.fromEntries(variants.map((v) => [v.key, v.weight])));
  render();
}

document.getElementById('save-split')?.addEventListener('click', async () => {
  const state = document.getElementById('split-state');
  try {
    await api('PATCH', `/api/v1/splits/${KEY}`, { weights, reason: document.getElementById('reason').value });
    state.textContent = 'Saved';
    await load();
  } catch (err) { state.textContent = `Not saved: ${err.message}`; }
});

load();
