// The slot picker of Calendar Schedule Stages, on the portal and on the staff Task page: every
// `.slot-picker` element names its slots URL (data-slots), where to book (data-book) and where to go
// after (data-done). Times show in the browser's own zone, which is sent with the booking.
import { el } from '../lib/dom.js';
import { api, ApiError } from '../lib/api.js';
import { browserZone, dayLabel, fullLabel, groupByDay, timeLabel } from './days.js';

// the browser's own locale (12- or 24-hour clock as its user expects), not the page's language
const locale = () => undefined;

function pressed(list, current) {
  for (const b of list.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === current));
}

function render(root, data, zone) {
  const days = groupByDay(data.slots, zone);
  const dayList = el('div', { class: 'slot-days', role: 'group', 'aria-label': 'Day' });
  const times = el('div', { class: 'slot-times', role: 'group', 'aria-label': 'Time' });
  const confirm = el('button', { type: 'button', class: 'slot-book', disabled: true }, 'Pick a time');
  const status = el('p', { class: 'slot-status', role: 'status' });
  let chosen = null;
  const pick = (slot, button) => {
    chosen = slot;
    pressed(times, button);
    confirm.disabled = false;
    confirm.textContent = `${root.dataset.verb || 'Book'} ${fullLabel(slot.start, zone, locale())}`;
  };
  const showDay = (slots, button) => {
    pressed(dayList, button);
    times.replaceChildren(...slots.map((s) => {
      const b = el('button', { type: 'button', class: 'slot', 'aria-pressed': 'false' }, timeLabel(s.start, zone, locale()));
      b.addEventListener('click', () => pick(s, b));
      return b;
    }));
    chosen = null;
    confirm.disabled = true;
    confirm.textContent = 'Pick a time';
  };
  for (const [, slots] of days) {
    const b = el('button', { type: 'button', class: 'slot-day', 'aria-pressed': 'false' }, dayLabel(slots[0].start, zone, locale()));
    b.addEventListener('click', () => showDay(slots, b));
    dayList.append(b);
  }
  confirm.addEventListener('click', async () => {
    if (!chosen) return;
    confirm.disabled = true;
    status.textContent = root.dataset.verb ? 'Moving…' : 'Booking…';
    try {
      const body = { start: chosen.start, time_zone: zone };
      if (root.dataset.formToken) body.form_token = root.dataset.formToken;
      await api('POST', root.dataset.book, body);
      status.textContent = root.dataset.verb ? 'Moved.' : 'Booked.';
      window.location.assign(root.dataset.done || window.location.href);
    } catch (err) {
      status.textContent = '';
      root.querySelector('.slot-error').textContent = err instanceof ApiError ? err.message : 'Booking failed: try again.';
      confirm.disabled = false;
      if (err instanceof ApiError && err.status === 409) load(root);   // that time was taken: fresh times
    }
  });
  const body = days.length
    ? [el('p', { class: 'muted' }, `Times are shown in your time zone (${zone}).`), dayList, times, confirm, status]
    : [el('p', {}, 'No free times right now. Please check again later.')];
  root.querySelector('.slot-body').replaceChildren(...body);
  if (days.length) dayList.querySelector('button').click();
}

async function load(root) {
  const zone = browserZone();
  const url = new URL(root.dataset.slots, window.location.href);
  url.searchParams.set('tz', zone);
  try {
    render(root, await api('GET', url.pathname + url.search), zone);
  } catch (err) {
    root.querySelector('.slot-error').textContent = err instanceof ApiError ? err.message : 'The free times could not be loaded.';
  }
}

function start(root) {
  if (root.dataset.ready) return;
  root.dataset.ready = '1';
  root.append(el('div', { class: 'slot-body' }, el('p', { class: 'muted' }, 'Loading free times…')),
    el('p', { class: 'slot-error err', role: 'alert' }));
  load(root);
}

// "Cancel the appointment" on the staff Task page: asks first, then reloads to show the outcome
async function cancelBooking(button) {
  if (!window.confirm(button.dataset.ask)) return;
  button.disabled = true;
  try {
    await api('POST', button.dataset.bookingCancel, {});
    window.location.reload();
  } catch (err) {
    button.disabled = false;
    button.closest('[data-booking]').querySelector('[data-booking-error]').textContent =
      err instanceof ApiError ? err.message : 'The appointment could not be cancelled: try again.';
  }
}

document.addEventListener('click', (e) => {
  const button = e.target.closest('[data-booking-cancel]');
  if (button) cancelBooking(button);
});

// a picker inside a closed <details> loads when it is opened
function scan() {
  document.querySelectorAll('.slot-picker').forEach((root) => {
    const closed = root.closest('details:not([open])');
    if (closed) closed.addEventListener('toggle', () => start(root), { once: true });
    else start(root);
  });
}

scan();
// the staff Task page swaps parts of itself on live updates: pickers that arrive later start too
new MutationObserver(scan).observe(document.body, { childList: true, subtree: true });
