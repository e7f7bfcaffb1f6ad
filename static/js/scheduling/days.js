// Pure helpers of the slot picker: slots grouped by local day in a time zone, and their labels.
// No `document` or `window`: Node's test runner loads it.

// the browser's own IANA time zone (what the participant sees and sends with a booking)
export function browserZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch { return 'UTC'; }
}

// the local calendar day (YYYY-MM-DD) of an instant in a zone
export function dayKey(iso, zone) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(new Date(iso));
  const get = (t) => parts.find((p) => p.type === t).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

// [[day, [slot, ...]], ...] in order; slots: [{start, end, seats_left}]
export function groupByDay(slots, zone) {
  const days = new Map();
  for (const s of slots) {
    const key = dayKey(s.start, zone);
    if (!days.has(key)) days.set(key, []);
    days.get(key).push(s);
  }
  return [...days.entries()];
}

export function timeLabel(iso, zone, locale) {
  return new Intl.DateTimeFormat(locale, { timeZone: zone, hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}

export function dayLabel(iso, zone, locale) {
  return new Intl.DateTimeFormat(locale, { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short' })
    .format(new Date(iso));
}

export function fullLabel(iso, zone, locale) {
  return new Intl.DateTimeFormat(locale, { timeZone: zone, weekday: 'long', day: 'numeric', month: 'long',
    hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}
