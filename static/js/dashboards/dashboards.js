// Procly dashboards: filters → /api/v1/metrics/dashboard → Chart.js charts with table toggle and CSV,
// the A/B panel over /api/v1/metrics/ab/<split>, live refresh on Socket.IO "task.changed" (debounced).
// `Chart` is the vendored chart.umd.min.js (a classic script).
import { api } from '../lib/api.js';
import { el } from '../lib/dom.js';
import { debounce, live } from '../lib/socket.js';
import { KPI_HELP, empty, fmtDur, heading, hours, pct, tables } from './figures.js';

const API = '/api/v1/metrics';
const form = document.getElementById('dash-filters');
const statusEl = document.getElementById('dash-status');
const charts = {};
window.procly_dashboards = { charts, refresh: () => refresh(), data: null };
let options = { processes: [], splits: [] };
const COLORS = ['#2f6fde', '#e08a1e', '#2a9d5b', '#c0392b', '#8e44ad', '#16a085', '#7f8c8d'];
// axes that count things: from zero, whole numbers only
const COUNT_AXIS = { beginAtZero: true, ticks: { precision: 0 } };
const stageLabel = (r) => r.stage_name || r.stage_key;
const stageName = (key, procs) => procs.map((p) => (p.stage_names || {})[key]).find(Boolean) || key;

function params() {
  const p = new URLSearchParams();
  for (const [k, v] of new FormData(form).entries()) if (v !== '') p.set(k, v);
  return p;
}

// ---- filters ---------------------------------------------------------------------------------
function fillSelect(sel, items, keepFirst = true) {
  const cur = sel.value;
  while (sel.options.length > (keepFirst ? 1 : 0)) sel.remove(keepFirst ? 1 : 0);
  for (const [value, label] of items) sel.add(new Option(label, value));
  if ([...sel.options].some((o) => o.value === cur)) sel.value = cur;
}

function syncFilterOptions() {
  const proc = options.processes.find((p) => p.key === form.process.value);
  form.version.disabled = !proc;
  fillSelect(form.version, proc ? proc.versions.map((n) => [n, `v${n}`]) : []);
  const named = proc ? [proc] : options.processes;
  const stages = [...new Set(named.flatMap((p) => p.stages))];
  fillSelect(form.stage, stages.map((s) => [s, stageName(s, named)]));
  const variants = options.splits.flatMap((s) => s.variants.map((v) => [v.id, `${s.name}: ${v.key}`]));
  fillSelect(form.variant, variants);
}

// ---- charts ----------------------------------------------------------------------------------
function draw(key, config) {
  const canvas = document.getElementById(`chart-${key}`);
  if (charts[key]) {
    charts[key].data = config.data;
    charts[key].update('none');
    return;
  }
  config.options = { responsive: true, maintainAspectRatio: false, animation: false,
                     plugins: { legend: { position: 'bottom' } }, ...(config.options || {}) };
  charts[key] = new Chart(canvas, config);
}

function renderTable(key, rows) {
  const box = document.querySelector(`[data-chart="${key}"] .dash-table`);
  box.replaceChildren();
  if (!rows.length) { box.append(el('p', { class: 'muted' }, 'No data for these filters.')); return; }
  const t = el('table', { class: 'grid' });
  const head = el('tr');
  Object.keys(rows[0]).forEach((c) => head.append(el('th', {}, heading(c))));
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  t.append(thead, body);
  for (const r of rows) {
    const tr = el('tr');
    Object.values(r).forEach((v) => tr.append(el('td', {}, v == null ? '' : String(v))));
    body.append(tr);
  }
  box.append(t);
}

function renderKpis(s, ai) {
  const box = document.getElementById('dash-kpis');
  // AI Prompt Stages: shown once a model was called in the period
  const aiItems = ai && ai.calls ? [['AI model calls', ai.calls],
    ['AI tokens (prompt / answer)', `${ai.prompt_tokens} / ${ai.completion_tokens}`],
    ['AI model time', fmtDur(ai.model_seconds)]] : [];
  const items = [
    ['Tasks started', s.visits.started], ['Completed', s.visits.completed],
    ['Moved by Route', s.visits.moved], ['Lead time p50', fmtDur(s.lead_time.p50)],
    ['Lead time p95', fmtDur(s.lead_time.p95)], ['WIP (queued)', `${s.wip} (${s.queued})`],
    ['Error rate', s.error_rate == null ? '—' : `${pct(s.error_rate)} %`],
    ['SLA breach rate', s.sla.breach_rate == null ? '—' : `${pct(s.sla.breach_rate)} %`],
    ['Reminders / escalations', `${s.sla.reminders} / ${s.sla.escalations}`],
    ['Staff time', fmtDur(s.staff_seconds)], ['Failed runs', s.failed], ['Still running', s.visits.running],
    ...aiItems,
  ];
  box.replaceChildren(...items.map(([label, value], i) => {
    const help = KPI_HELP[label] || '';
    // focusable, so the explanation shows on keyboard focus as on hover; read out as its description
    const d = el('div', { class: 'dash-kpi', tabindex: '0', 'aria-describedby': `kpi-help-${i}` });
    d.append(el('b', {}, String(value)), el('span', {}, label),
             el('span', { class: 'dash-tip', id: `kpi-help-${i}`, role: 'tooltip' }, help));
    return d;
  }));
}

function render(d) {
  window.procly_dashboards.data = d;
  renderKpis(d.summary, d.ai);
  draw('throughput', { type: 'line', options: { scales: { y: COUNT_AXIS } }, data: { labels: d.throughput.map((r) => r.bucket),
    datasets: [{ label: 'Completed', data: d.throughput.map((r) => r.completed), borderColor: COLORS[0],
                 backgroundColor: COLORS[0] + '33', fill: true, tension: 0.2 }] } });
  draw('lead_times', { type: 'bar', options: { scales: { y: { beginAtZero: true } } }, data: { labels: d.lead_times.map((r) => r.label),
    datasets: ['p50', 'p90', 'p95'].map((k, i) => ({ label: k, data: d.lead_times.map((r) => hours(r[k])),
                                                    backgroundColor: COLORS[i] })) } });
  draw('stages', { type: 'bar', options: { indexAxis: 'y', scales: { x: { stacked: true }, y: { stacked: true } } },
    data: { labels: d.stages.map(stageLabel), datasets: [
      { label: 'Waiting (median)', data: d.stages.map((r) => hours(r.wait.p50)), backgroundColor: COLORS[1] },
      { label: 'Working (median)', data: d.stages.map((r) => hours(r.cycle.p50)), backgroundColor: COLORS[0] }] } });
  const byQueue = [...d.stages].sort((a, b) => a.rank_queue - b.rank_queue);
  draw('wip', { type: 'bar', data: { labels: byQueue.map(stageLabel), datasets: [
    { label: 'Queued', data: byQueue.map((r) => r.queued), backgroundColor: COLORS[3] },
    { label: 'In progress', data: byQueue.map((r) => r.wip - r.queued), backgroundColor: COLORS[2] }] },
    options: { scales: { x: { stacked: true }, y: { stacked: true, ...COUNT_AXIS } } } });
  draw('rates', { type: 'bar', data: { labels: d.stages.map(stageLabel), datasets: [
    { label: 'Error rate %', data: d.stages.map((r) => pct(r.error_rate)), backgroundColor: COLORS[3] },
    { label: 'SLA breached %', data: d.stages.map((r) => pct(r.sla?.breach_rate)), backgroundColor: COLORS[1] }] },
    options: { scales: { y: { beginAtZero: true, suggestedMax: 10 } } } });
  draw('routes', { type: 'bar', options: { indexAxis: 'y', scales: { x: COUNT_AXIS } }, data: {
    labels: d.routes.map((r) => `${r.process} · ${r.route_name || r.route_key} → ${r.target_process}`),
    datasets: [{ label: 'Tasks moved', data: d.routes.map((r) => r.count), backgroundColor: COLORS[4] }] } });
  for (const key of Object.keys(charts)) {
    const card = document.querySelector(`[data-chart="${key}"]`);
    const none = empty(key, d);
    card.classList.toggle('dash-empty', none);
    card.querySelector('.dash-nodata').hidden = !none;
  }
  const t = tables(d);
  const q = params().toString();
  for (const [key, rows] of Object.entries(t)) {
    renderTable(key, rows);
    document.querySelector(`[data-chart="${key}"] .dash-csv`).href = `${API}/csv/${key}?${q}`;
  }
}

async function refresh() {
  statusEl.textContent = 'refreshing…';
  try {
    const d = await api('GET', `${API}/dashboard?${params()}`);
    render(d);
    await refreshAB();
    statusEl.textContent = `${period(d.filters)} · updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    statusEl.textContent = `error: ${e.message}`;
  }
}

// the period the figures cover (the default is today and the 6 days before, in UTC days)
function period(f) {
  if (!f.from && !f.to) return 'all time';
  const from = form.from.value || (f.from || '').slice(0, 10) || '…';
  const preset = periodSel.value === 'custom' ? '' : ` (last ${periodSel.value} days)`;
  return `${from} → ${form.to.value || 'now'}${preset}`;
}

// ---- A/B panel -------------------------------------------------------------------------------
const abSplit = document.getElementById('ab-split');
const abStage = document.getElementById('ab-stage');
let ab = null;

async function refreshAB() {
  if (!abSplit.value) { document.getElementById('ab-verdict').textContent = 'No Splits yet.'; return; }
  const p = params();
  p.delete('variant'); p.delete('process'); p.delete('version'); p.delete('stage');
  if (abStage.value) p.set('stage', abStage.value);
  ab = await api('GET', `${API}/ab/${encodeURIComponent(abSplit.value)}?${p}`);
  document.getElementById('ab-verdict').textContent = ab.comparisons.map((c) => c.verdict).join(' ') || 'Only one variant.';
  const table = document.getElementById('ab-table');
  const cols = ['Variant', 'Process', 'Weight', 'Started', 'Finished', 'Completed', 'Routed away',
                'Completion rate (95 % CI)', 'Lead time p50 / p90', ...(abStage.value ? [`${abStage.selectedOptions[0].textContent}: working / waiting (medians)`] : [])];
  const head = el('tr'); cols.forEach((c) => head.append(el('th', {}, c)));
  const body = el('tbody');
  for (const v of ab.variants) {
    const tr = el('tr', { 'data-variant': v.key });
    const rate = v.completion_rate == null ? '—'
      : `${pct(v.completion_rate)} % (${pct(v.completion_ci[0])}–${pct(v.completion_ci[1])})`;
    const cells = [v.key, v.process_name, v.weight, v.started, v.finished, v.completed, v.routed_away, rate,
                   `${fmtDur(v.lead_time.p50)} / ${fmtDur(v.lead_time.p90)}`];
    if (abStage.value) cells.push(v.stage ? `${fmtDur(v.stage.cycle.p50)} / ${fmtDur(v.stage.wait.p50)}` : '—');
    cells.forEach((c) => tr.append(el('td', {}, String(c))));
    body.append(tr);
  }
  const thead = el('thead');
  thead.append(head);
  table.replaceChildren(thead, body);
  const inputs = document.getElementById('ab-weight-inputs');
  inputs.replaceChildren(...ab.variants.map((v) => {
    const l = el('label', {}, v.key);
    l.append(el('input', { type: 'number', min: '0', max: '100', name: `w_${v.key}`, value: String(v.weight) }));
    return l;
  }));
  const promote = document.getElementById('ab-promote');
  promote.replaceChildren(...ab.variants.map((v) => {
    const b = el('button', { type: 'button', class: 'secondary', 'data-promote': v.key }, `Promote ${v.key}`);
    b.addEventListener('click', () => saveWeights(Object.fromEntries(ab.variants.map((x) => [x.key, x.key === v.key ? 100 : 0])),
                                                 `Promote ${v.key}`));
    return b;
  }));
}

async function saveWeights(weights, fallbackReason) {
  const reason = document.querySelector('#ab-weights [name=reason]').value || fallbackReason;
  const msg = document.getElementById('ab-msg');
  if (!reason) { msg.textContent = 'Give a reason.'; return; }
  try {
    await api('PATCH', `/api/v1/splits/${encodeURIComponent(abSplit.value)}`, { weights, reason });
    msg.textContent = 'Weights saved.';
    await refreshAB();
  } catch (e) { msg.textContent = `Not saved: ${e.message}`; }
}

document.getElementById('ab-weights').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const weights = {};
  for (const v of ab?.variants || []) weights[v.key] = Number(ev.target[`w_${v.key}`].value);
  saveWeights(weights);
});
abSplit.addEventListener('change', () => { syncAbStages(); refreshAB().catch(() => {}); });
abStage.addEventListener('change', () => refreshAB().catch(() => {}));

function syncAbStages() {
  const split = options.splits.find((s) => s.key === abSplit.value);
  const procs = split ? split.variants.map((v) => v.process) : [];
  const stages = [...new Set(options.processes.filter((p) => procs.includes(p.key)).flatMap((p) => p.stages))];
  fillSelect(abStage, stages.map((s) => [s, stageName(s, options.processes)]));
}

// ---- table toggles, live refresh -------------------------------------------------------------
document.querySelectorAll('.dash-toggle').forEach((btn) => btn.addEventListener('click', () => {
  const card = btn.closest('.dash-chart');
  const showTable = btn.getAttribute('aria-pressed') !== 'true';
  btn.setAttribute('aria-pressed', String(showTable));
  btn.textContent = showTable ? 'Chart' : 'Table';
  card.querySelector('.dash-table').hidden = !showTable;
  card.querySelector('.dash-canvas').hidden = showTable;
}));

// period presets count whole UTC days, today included (as the server's default, the last 7 days)
const periodSel = document.getElementById('dash-period');
const utcDaysAgo = (n) => new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);
form.addEventListener('change', (ev) => {
  if (ev.target === periodSel) {
    if (periodSel.value === 'custom') { form.from.focus(); return; }
    const days = Number(periodSel.value);
    form.from.value = days === 7 ? '' : utcDaysAgo(days - 1);
    form.to.value = '';
  } else if (ev.target.name === 'from' || ev.target.name === 'to') {
    periodSel.value = 'custom';
  }
  if (ev.target.name === 'process') syncFilterOptions();
  refresh();
});

function startLive() {
  // task.changed is published to process rooms; "dashboards" is joined for dashboard-wide messages
  const conn = live({ rooms: ['dashboards', ...options.processes.map((p) => `process:${p.id}`)] });
  if (!conn) return;
  conn.socket.on('task.changed', debounce(refresh, 1500));
  window.procly_dashboards.socket = conn.socket;
}

async function init() {
  options = await api('GET', `${API}/options`);
  const pre = new URLSearchParams(location.search);
  fillSelect(form.process, options.processes.map((p) => [p.key, p.name]));
  // default view: one Process (the one under an A/B test, else the first), last 7 days;
  // "All processes" stays one click away
  form.process.value = pre.has('process') ? pre.get('process') : (options.default_process || '');
  syncFilterOptions();
  for (const k of ['version', 'variant', 'stage', 'from', 'to', 'bucket']) if (pre.get(k)) form[k].value = pre.get(k);
  if (pre.get('from') || pre.get('to')) periodSel.value = 'custom';
  fillSelect(abSplit, options.splits.map((s) => [s.key, s.name]), false);
  syncAbStages();
  await refresh();
  startLive();
}
init().catch((e) => { statusEl.textContent = `error: ${e.message}`; });
