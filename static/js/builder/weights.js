// Split weights as the split editor shows them: whole percentages that always total 100. No DOM:
// Node's test runner imports this module.

// set one variant to `value` % and share the rest among the others in proportion to their current
// weights (integers, largest remainder first)
export function rescale(current, changedKey, value) {
  value = Math.max(0, Math.min(100, Math.round(value)));
  const others = Object.keys(current).filter((k) => k !== changedKey);
  const rest = 100 - value;
  const base = others.reduce((a, k) => a + current[k], 0);
  const raw = others.map((k) => [k, base > 0 ? (current[k] * rest) / base : rest / others.length]);
  const out = { [changedKey]: others.length ? value : 100 };
  let given = 0;
  raw.forEach(([k, r]) => { out[k] = Math.floor(r); given += out[k]; });
  raw.sort((a, b) => (b[1] % 1) - (a[1] % 1)).slice(0, rest - given).forEach(([k]) => { out[k] += 1; });
  return out;
}

// weights as integer percentages summing to 100 (the rounding difference goes to the first variant)
export function toPercent(ws) {
  const total = Object.values(ws).reduce((a, b) => a + b, 0);
  const keys = Object.keys(ws);
  if (!total) return Object.fromEntries(keys.map((k, i) => [k, i === 0 ? 100 : 0]));
  const first = keys[0];
  const pct = Object.fromEntries(keys.map((k) => [k, Math.round((ws[k] * 100) / total)]));
  const diff = 100 - Object.values(pct).reduce((a, b) => a + b, 0);
  pct[first] += diff;
  return pct;
}
