// Pure formatting of the dashboard's figures: durations, hours and percentages for the charts, and
// the rows of each chart's table view (the same columns as its CSV). No DOM: Node's test runner
// imports this module.

export const hours = (s) => (s == null ? null : Math.round((s / 3600) * 100) / 100);
export const pct = (r) => (r == null ? null : Math.round(r * 1000) / 10);

// seconds -> "45 s", "12 min", "3.5 h", "2.0 d"; no value -> "—"
export function fmtDur(s) {
  if (s == null) return '—';
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

const pctRow = (d, prefix) => Object.fromEntries(['p50', 'p90', 'p95', 'avg', 'n'].map((k) => [`${prefix}_${k}`, d ? d[k] : null]));

// the table of each chart, as rows of {column: value}, from /api/v1/metrics/dashboard's answer
export function tables(d) {
  return {
    throughput: d.throughput,
    lead_times: d.lead_times.map((r) => ({ version: r.label, ...pctRow(r, 'lead_seconds') })),
    stages: d.stages.map((r) => ({ stage: r.stage_name || r.stage_key, rank: r.rank_time, time_share: r.time_share,
      ...pctRow(r.cycle, 'cycle_seconds'), ...pctRow(r.wait, 'wait_seconds'),
      staff_seconds: r.staff_seconds, staff_seconds_avg: r.staff_seconds_avg })),
    wip: [...d.stages].sort((a, b) => a.rank_queue - b.rank_queue)
      .map((r) => ({ stage: r.stage_name || r.stage_key, wip: r.wip, queued: r.queued, rank_queue: r.rank_queue })),
    rates: d.stages.map((r) => ({ stage: r.stage_name || r.stage_key, runs: r.runs, failed: r.failed, error_rate: r.error_rate,
      with_sla: r.sla?.with_sla ?? 0, sla_breached: r.sla?.breached ?? 0, sla_breach_rate: r.sla?.breach_rate ?? null,
      reminders: r.sla?.reminders ?? 0, escalations: r.sla?.escalations ?? 0,
      approval_p50_seconds: r.approval?.p50 ?? null })),
    routes: d.routes.map((r) => ({ process: r.process, route: r.route_name || r.route_key, target_process: r.target_process, count: r.count })),
  };
}

// does a chart have nothing to show yet (no rows, or only zeros)? Then the page says "No data yet"
// instead of drawing empty axes.
export function empty(key, d) {
  const rows = {
    throughput: d.throughput.filter((r) => r.completed),
    lead_times: d.lead_times.filter((r) => r.n),
    stages: d.stages.filter((r) => r.runs || r.wip),
    wip: d.stages.filter((r) => r.wip),
    rates: d.stages.filter((r) => r.runs),
    routes: d.routes.filter((r) => r.count),
  }[key];
  return !rows || rows.length === 0;
}

// what each headline figure means, shown on hover and keyboard focus
export const KPI_HELP = {
  'Tasks started': 'Tasks that entered the Process in this period.',
  Completed: 'Tasks that reached the end of the lane in this period.',
  'Moved by Route': 'Tasks a Route (or a person) moved to another Process in this period.',
  'Lead time p50': 'Half of the completed Tasks took at most this long from entering to finishing.',
  'Lead time p95': '95 in 100 completed Tasks took at most this long; the slowest 5 took longer.',
  'WIP (queued)': 'Steps open right now; in brackets, those nobody has started yet.',
  'Error rate': 'Share of steps that failed (and needed a retry or a person).',
  'SLA breach rate': 'Share of steps with a due time that finished late or are overdue.',
  'Reminders / escalations': 'SLA reminders sent, and escalations raised, in this period.',
  'Staff time': 'Time people spent working on steps (active time, pauses excluded).',
  'Failed runs': 'Steps that failed in this period.',
  'Still running': 'Tasks of this period still in the Process.',
};

// a table column's heading in words: "sla_breach_rate" -> "SLA breach rate", "cycle_seconds_p50" -> "Cycle seconds p50"
export function heading(key) {
  const words = String(key).replace(/_/g, ' ').replace(/\bsla\b/g, 'SLA');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
