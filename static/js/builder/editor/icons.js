// Stage-type icons, as inline SVG (Chromium here has no emoji font): a known pictograph or type key
// maps to a drawn glyph; anything else gets a letter badge tinted from the type's key.
import { el } from '../../lib/dom.js';

const SVG = {
  check: '<rect x="3.5" y="3.5" width="17" height="17" rx="3.5"/><path d="M8 12.5l3 3 5.5-6.5"/>',
  form: '<path d="M6 3.5h8.5l3.5 3.5v13.5H6z"/><path d="M14.5 3.5V7H18M9 11h6M9 14h6M9 17h4"/>',
  code: '<path d="M9 4.5c-2 0-2.8 1-2.8 3v2.2c0 1.2-.8 2.3-2.2 2.3 1.4 0 2.2 1.1 2.2 2.3v2.2c0 2 .8 3 2.8 3M15 4.5c2 0 2.8 1 2.8 3v2.2c0 1.2.8 2.3 2.2 2.3-1.4 0-2.2 1.1-2.2 2.3v2.2c0 2-.8 3-2.8 3"/>',
  mail: '<rect x="3.5" y="5.5" width="17" height="13" rx="2"/><path d="M4 7l8 6 8-6"/>',
  clock: '<circle cx="12" cy="12" r="8.5"/><path d="M12 7.5V12l3 2"/>',
  globe: '<circle cx="12" cy="12" r="8.5"/><path d="M3.5 12h17M12 3.5c2.5 2.5 3.5 5.5 3.5 8.5s-1 6-3.5 8.5c-2.5-2.5-3.5-5.5-3.5-8.5s1-6 3.5-8.5"/>',
  approve: '<path d="M12 3.5l7 3v5.5c0 4.2-3 7.2-7 8.5-4-1.3-7-4.3-7-8.5V6.5z"/><path d="M9 12l2.2 2.2L15.5 10"/>',
  file: '<path d="M16.5 7.5l-7 7a2 2 0 0 0 2.8 2.8l7.2-7.2a4 4 0 0 0-5.7-5.7L6.6 11.6a6 6 0 0 0 8.5 8.5l5.4-5.4"/>',
  spark: '<path d="M12 3.5c.8 4.6 2.9 6.7 7.5 7.5-4.6.8-6.7 2.9-7.5 7.5-.8-4.6-2.9-6.7-7.5-7.5 4.6-.8 6.7-2.9 7.5-7.5z"/><path d="M18.5 3.5v3M17 5h3"/>',
  exchange: '<path d="M4 8.5h14.5M15 5l3.5 3.5L15 12M20 15.5H5.5M9 12l-3.5 3.5L9 19"/>',
  calendar: '<rect x="3.5" y="5" width="17" height="15.5" rx="2"/><path d="M3.5 9.5h17M8 3v4M16 3v4M7.5 13h2M11 13h2M14.5 13h2M7.5 16.5h2M11 16.5h2"/>',
};
const ICON_OF = {
  '☑': 'check', '✅': 'check', '✔': 'check', '📝': 'form', '🗒': 'form', 'ƒ': 'code', '⚙': 'code', '🧮': 'code',
  '✉': 'mail', '📧': 'mail', '⏱': 'clock', '⏰': 'clock', '🌐': 'globe', '🔗': 'globe', '🛡': 'approve', '📎': 'file', '📅': 'calendar', '🗓': 'calendar', '✦': 'spark', '⇄': 'exchange',
  basic: 'check', form: 'form', compute: 'code', email: 'mail', timer: 'clock', wait: 'clock', http: 'globe', webhook: 'globe', approval: 'approve', file_upload: 'file', calendar_schedule: 'calendar', ai_prompt: 'spark', external_service: 'exchange',
};
const hue = (str) => [...String(str)].reduce((h, c) => (h * 31 + c.codePointAt(0)) % 360, 7);
export function icon(t) {
  const name = t?.name || t?.key || '?';
  const glyph = ICON_OF[[...(t?.icon || '')][0]] || ICON_OF[t?.key];
  const h = hue(t?.key || name);
  const style = `--ic-bg:hsl(${h} 70% 93%);--ic-fg:hsl(${h} 55% 34%)`;
  if (glyph) {
    const span = el('span', { class: 'icon svg', title: name, 'aria-hidden': 'true', style, dataset: { glyph } });
    span.innerHTML = `<svg viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">${SVG[glyph]}</svg>`;
    return span;
  }
  return el('span', { class: 'icon letter', title: name, 'aria-hidden': 'true', style, dataset: { glyph: 'letter' } }, name.trim()[0]?.toUpperCase() || '?');
}
