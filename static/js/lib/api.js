// The one HTTP client of the pages' scripts: same-origin fetch with the session cookie, the CSRF
// token of the page's <meta name="csrf-token"> on every write, JSON in and out, and the API's
// {"error": {"code", "message", "details"}} thrown as an ApiError. Touches `document` and `fetch`
// only when called, so Node can import (and test) it.

const csrfToken = () => globalThis.document?.querySelector('meta[name="csrf-token"]')?.content || '';

export class ApiError extends Error {
  // body: the parsed JSON answer, or null when there was none (or it was not JSON)
  constructor(status, body, statusText = '') {
    super(body?.error?.message || `HTTP ${status}${statusText ? ` ${statusText}` : ''}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.error?.code;
    this.details = body?.error?.details || {};
  }
}

// the parsed JSON of a response text; null for an empty or non-JSON body (an HTML error page)
export function parseBody(text) {
  if (!text) return null;
  try { return JSON.parse(text); } catch { return null; }
}

// api('PUT', '/api/v1/...', body?) -> the JSON answer; throws ApiError on a non-2xx status
export async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (method !== 'GET') opts.headers['X-CSRFToken'] = csrfToken();
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  const text = await res.text();
  const data = parseBody(text);
  if (!res.ok) throw new ApiError(res.status, data, res.statusText);
  if (data === null && text) throw new ApiError(res.status, { error: { code: 'not_json', message: `${path} did not answer JSON` } });
  return data;
}

// a page's own HTML fragment (the staff pages' ?partial=1 views); throws ApiError on a non-2xx status
export async function getHtml(url) {
  const res = await fetch(url, { credentials: 'same-origin', headers: { 'X-Requested-With': 'fetch' } });
  if (!res.ok) throw new ApiError(res.status, null, res.statusText);
  return res.text();
}

// "path: reason" lines from an ApiError's details, which may nest ({versions: {0: {...}}}) or be a
// list of {path, message} problems
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
