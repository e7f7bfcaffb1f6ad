// The slot picker's pure helpers (static/js/scheduling/days.js): slots grouped by the local day of the
// viewer's zone, which differs from the UTC day near midnight.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { dayKey, groupByDay, timeLabel } from '../../static/js/scheduling/days.js';

const slots = [{ start: '2030-01-07T22:00:00+00:00' }, { start: '2030-01-07T23:30:00+00:00' },
  { start: '2030-01-08T08:00:00+00:00' }];

test('days are local to the zone', () => {
  assert.equal(dayKey('2030-01-07T23:30:00+00:00', 'UTC'), '2030-01-07');
  assert.equal(dayKey('2030-01-07T23:30:00+00:00', 'Asia/Tokyo'), '2030-01-08');
  assert.equal(dayKey('2030-01-07T23:30:00+00:00', 'America/New_York'), '2030-01-07');
});

test('groupByDay keeps order and splits at local midnight', () => {
  assert.deepEqual(groupByDay(slots, 'UTC').map(([d, s]) => [d, s.length]), [['2030-01-07', 2], ['2030-01-08', 1]]);
  assert.deepEqual(groupByDay(slots, 'Europe/Paris').map(([d, s]) => [d, s.length]), [['2030-01-07', 1], ['2030-01-08', 2]]);
});

test('times in the zone', () => {
  assert.equal(timeLabel('2030-01-08T08:00:00+00:00', 'Europe/Paris', 'en-GB'), '09:00');
  assert.equal(timeLabel('2030-07-08T08:00:00+00:00', 'Europe/Paris', 'en-GB'), '10:00');
});
