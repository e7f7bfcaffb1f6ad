// Small fetch wrapper for the JSON API: session cookie + CSRF header, errors as thrown objects.
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || '';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.details = body?.error?.details || {};
  }
}

export async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (method !== 'GET') opts.headers['X-CSRFToken'] = csrf();
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else if (k === 'style') node.style.cssText = v;   // CSSOM: the CSP blocks style attributes, not this
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
};

// "message — path: reason; path: reason" from an ApiError (details may nest: {versions: {0: {...}}})
export function errorLines(details, prefix = '') {
  if (Array.isArray(details)) {
    if (details.every((x) => typeof x !== 'object' || x === null)) return prefix ? [`${prefix}: ${details.join(', ')}`] : details.map(String);
    return details.flatMap((x, i) => errorLines(x, x && x.path ? '' : `${prefix}[${i}]`));
  }
  if (details && typeof details === 'object') {
    if (details.message && (details.path !== undefined)) return [`${details.path ? `${details.path}: ` : ''}${details.message}`];
    return Object.entries(details).flatMap(([k, v]) => errorLines(v, prefix ? `${prefix}.${k}` : k));
  }
  return details === undefined || details === null || details === '' ? [] : [prefix ? `${prefix}: ${details}` : String(details)];
}
