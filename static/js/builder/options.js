// The options of a choice Field, without the DOM (Node's test runner imports this module):
// {choices: [value…] offered in order, labels: {value: words people see}, retired: [value…]}.

// "In area" -> "in_area": a stored value made from the words people type
export function slug(label) {
  return String(label).toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'option';
}

export const labelOf = (opts, v) => opts.labels?.[v] || v;

function tidy(o) {
  const out = { ...o, choices: [...o.choices] };
  const labels = Object.fromEntries(Object.entries(o.labels || {}).filter(([v, l]) => l && l !== v));
  if (Object.keys(labels).length) out.labels = labels; else delete out.labels;
  if (o.retired?.length) out.retired = [...o.retired]; else delete out.retired;
  return out;
}

// options from lines of labels (the add-a-field form): values made unique
export function fromLabels(lines) {
  const opts = { choices: [], labels: {} };
  for (const label of lines.map((x) => x.trim()).filter(Boolean)) add(opts, label, true);
  return tidy(opts);
}

function add(opts, label, inPlace = false) {
  const o = inPlace ? opts : { ...opts, choices: [...opts.choices], labels: { ...(opts.labels || {}) } };
  const taken = new Set([...o.choices, ...(o.retired || [])]);
  const base = slug(label);
  let v = base;
  for (let n = 2; taken.has(v); n++) v = `${base}_${n}`;
  o.choices.push(v);
  o.labels = { ...(o.labels || {}), [v]: label.trim() };
  return o;
}

export const addOption = (opts, label) => tidy(add(opts, label));

export const relabel = (opts, value, label) => tidy({ ...opts, labels: { ...(opts.labels || {}), [value]: label.trim() || value } });

export function move(opts, value, dir) {
  const c = [...opts.choices];
  const i = c.indexOf(value), j = i + dir;
  if (i < 0 || j < 0 || j >= c.length) return tidy(opts);
  [c[i], c[j]] = [c[j], c[i]];
  return tidy({ ...opts, choices: c });
}

export const retire = (opts, value) => tidy({ ...opts, choices: opts.choices.filter((v) => v !== value), retired: [...(opts.retired || []), value] });

export const restore = (opts, value) => tidy({ ...opts, retired: (opts.retired || []).filter((v) => v !== value), choices: [...opts.choices, value] });
