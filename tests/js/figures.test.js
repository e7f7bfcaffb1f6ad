// The dashboard's pure formatting (static/js/dashboards/figures.js) and the split editor's weights
// (static/js/builder/weights.js).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { empty, fmtDur, heading, hours, pct, tables } from '../../static/js/dashboards/figures.js';
import { rescale, toPercent } from '../../static/js/builder/weights.js';

describe('dashboard figures', () => {
  test('names, not keys: Stage and Route names win over keys; headings in words', () => {
    const stage = { stage_key: 'collect', stage_name: 'Collect basic information', rank_time: 1, time_share: 1, rank_queue: 1,
      wip: 2, queued: 1, runs: 3, failed: 0, error_rate: 0, cycle: null, wait: null, staff_seconds: 0,
      staff_seconds_avg: 0, sla: null, approval: null };
    const d = { throughput: [], lead_times: [], stages: [stage],
      routes: [{ process: 'Intake', route_key: 'out_of_area', route_name: 'Outside service area', target_process: 'Follow-up', count: 1 }] };
    const t = tables(d);
    assert.equal(t.stages[0].stage, 'Collect basic information');
    assert.equal(t.routes[0].route, 'Outside service area');
    assert.equal(heading('sla_breach_rate'), 'SLA breach rate');
    assert.equal(heading('target_process'), 'Target process');
  });

  test('no data yet: empty rows or only zeros', () => {
    const none = { throughput: [{ bucket: 'd', completed: 0 }], lead_times: [], stages: [], routes: [] };
    for (const key of ['throughput', 'lead_times', 'stages', 'wip', 'rates', 'routes']) assert.equal(empty(key, none), true, key);
    assert.equal(empty('throughput', { ...none, throughput: [{ bucket: 'd', completed: 2 }] }), false);
  });

  test('durations in the unit a person reads', () => {
    assert.equal(fmtDur(null), '—');
    assert.equal(fmtDur(undefined), '—');
    assert.equal(fmtDur(0), '0 s');
    assert.equal(fmtDur(119.4), '119 s');
    assert.equal(fmtDur(120), '2 min');
    assert.equal(fmtDur(7199), '120 min');
    assert.equal(fmtDur(7200), '2.0 h');
    assert.equal(fmtDur(172800), '2.0 d');
  });

  test('hours to two decimals, rates as percentages to one', () => {
    assert.equal(hours(5400), 1.5);
    assert.equal(hours(null), null);
    assert.equal(pct(0.1234), 12.3);
    assert.equal(pct(null), null);
    assert.equal(pct(0), 0);
  });

  test('each chart\'s table rows', () => {
    const stage = (key, rankQueue, extra = {}) => ({
      stage_key: key, rank_time: 1, time_share: 0.5, rank_queue: rankQueue, wip: 3, queued: 1, runs: 10, failed: 1,
      error_rate: 0.1, staff_seconds: 60, staff_seconds_avg: 6,
      cycle: { p50: 10, p90: 20, p95: 30, avg: 12, n: 10 }, wait: null, ...extra,
    });
    const t = tables({
      throughput: [{ bucket: '2026-01-01', completed: 4 }],
      lead_times: [{ label: 'v1', p50: 1, p90: 2, p95: 3, avg: 1.5, n: 4 }],
      stages: [stage('collect', 2, { sla: { with_sla: 5, breached: 1, breach_rate: 0.2, reminders: 2, escalations: 1 }, approval: { p50: 90 } }),
        stage('confirm', 1)],
      routes: [{ process: 'Intake', route_key: 'spam', target_process: 'Spam', count: 2 }],
    });
    assert.deepEqual(Object.keys(t), ['throughput', 'lead_times', 'stages', 'wip', 'rates', 'routes']);
    assert.deepEqual(t.lead_times, [{ version: 'v1', lead_seconds_p50: 1, lead_seconds_p90: 2, lead_seconds_p95: 3, lead_seconds_avg: 1.5, lead_seconds_n: 4 }]);
    assert.equal(t.stages[0].cycle_seconds_p90, 20);
    assert.equal(t.stages[0].wait_seconds_p50, null);                  // no waits measured
    assert.deepEqual(t.wip.map((r) => r.stage), ['confirm', 'collect']);   // by queue rank
    assert.deepEqual(t.rates[0], { stage: 'collect', runs: 10, failed: 1, error_rate: 0.1, with_sla: 5, sla_breached: 1,
      sla_breach_rate: 0.2, reminders: 2, escalations: 1, approval_p50_seconds: 90 });
    assert.deepEqual([t.rates[1].with_sla, t.rates[1].sla_breach_rate, t.rates[1].approval_p50_seconds], [0, null, null]);
    assert.deepEqual(t.routes, [{ process: 'Intake', route: 'spam', target_process: 'Spam', count: 2 }]);
  });
});

describe('split weights', () => {
  const total = (w) => Object.values(w).reduce((a, b) => a + b, 0);

  test('moving one slider shares the rest in proportion, always 100 in whole numbers', () => {
    assert.deepEqual(rescale({ legacy: 80, new: 20 }, 'new', 35), { new: 35, legacy: 65 });
    const w = rescale({ a: 50, b: 30, c: 20 }, 'a', 33);
    assert.equal(w.a, 33);
    assert.equal(total(w), 100);
    assert.ok(w.b > w.c);
    for (const v of [0, 1, 49.6, 99, 100, 150, -5]) assert.equal(total(rescale({ a: 1, b: 1, c: 1 }, 'b', v)), 100, String(v));
  });

  test('values are clamped to 0..100; others at zero share the rest equally', () => {
    assert.deepEqual(rescale({ a: 100, b: 0, c: 0 }, 'a', 150), { a: 100, b: 0, c: 0 });
    assert.deepEqual(rescale({ a: 100, b: 0, c: 0 }, 'a', 40), { a: 40, b: 30, c: 30 });
    assert.deepEqual(rescale({ only: 30 }, 'only', 30), { only: 100 });
  });

  test('stored weights shown as percentages that total 100', () => {
    assert.deepEqual(toPercent({ a: 1, b: 1, c: 1 }), { a: 34, b: 33, c: 33 });
    assert.deepEqual(toPercent({ a: 8, b: 2 }), { a: 80, b: 20 });
    assert.deepEqual(toPercent({ a: 0, b: 0 }), { a: 100, b: 0 });
  });
});
