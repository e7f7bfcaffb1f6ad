// The one API client (static/js/lib/api.js), against a stubbed fetch and page: the CSRF token on
// writes, JSON in and out, the API's error body thrown as an ApiError.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { ApiError, api, errorLines, getHtml, parseBody } from '../../static/js/lib/api.js';

let requests, answer;
const realFetch = globalThis.fetch;
beforeEach(() => {
  requests = [];
  answer = () => new Response('{"ok": true}', { status: 200 });
  globalThis.fetch = async (path, opts) => { requests.push({ path, ...opts }); return answer(); };
  globalThis.document = { querySelector: (sel) => (sel === 'meta[name="csrf-token"]' ? { content: 'csrf-123' } : null) };
});
afterEach(() => { globalThis.fetch = realFetch; delete globalThis.document; });

describe('api', () => {
  test('a GET sends the cookie and asks for JSON, without a CSRF token or body', async () => {
    assert.deepEqual(await api('GET', '/api/v1/processes'), { ok: true });
    const [r] = requests;
    assert.equal(r.path, '/api/v1/processes');
    assert.equal(r.method, 'GET');
    assert.equal(r.credentials, 'same-origin');
    assert.deepEqual(r.headers, { Accept: 'application/json' });
    assert.equal(r.body, undefined);
  });

  test('a write sends the page\'s CSRF token and the body as JSON', async () => {
    await api('PUT', '/api/v1/processes/intake/draft', { definition: { stages: [] }, revision: 2 });
    const [r] = requests;
    assert.equal(r.method, 'PUT');
    assert.equal(r.headers['X-CSRFToken'], 'csrf-123');
    assert.equal(r.headers['Content-Type'], 'application/json');
    assert.deepEqual(JSON.parse(r.body), { definition: { stages: [] }, revision: 2 });
  });

  test('a write without a body (DELETE) still carries the token; an empty answer is null', async () => {
    answer = () => new Response(null, { status: 204 });
    assert.equal(await api('DELETE', '/api/v1/tables/t/fields/f'), null);
    assert.equal(requests[0].headers['X-CSRFToken'], 'csrf-123');
    assert.equal(requests[0].headers['Content-Type'], undefined);
  });

  test('a page without the meta tag sends an empty token (the server refuses it)', async () => {
    globalThis.document = { querySelector: () => null };
    await api('POST', '/x', {});
    assert.equal(requests[0].headers['X-CSRFToken'], '');
  });

  test('an API error is thrown as an ApiError with its status, code, message and details', async () => {
    const error = { code: 'conflict', message: 'The draft changed', details: { updated_by: 'Ada', revision: 7 } };
    answer = () => new Response(JSON.stringify({ error }), { status: 409 });
    await assert.rejects(api('PUT', '/x', {}), (err) => {
      assert.ok(err instanceof ApiError && err instanceof Error);
      assert.equal(err.status, 409);
      assert.equal(err.code, 'conflict');
      assert.equal(err.message, 'The draft changed');
      assert.deepEqual(err.details, { updated_by: 'Ada', revision: 7 });
      return true;
    });
  });

  test('an error page that is not JSON is an ApiError naming the status', async () => {
    answer = () => new Response('<h1>Bad gateway</h1>', { status: 502, statusText: 'Bad Gateway' });
    await assert.rejects(api('GET', '/x'), { name: 'ApiError', status: 502, message: 'HTTP 502 Bad Gateway', code: undefined, details: {} });
  });

  test('a 200 that is not JSON is an error too, not a silent null', async () => {
    answer = () => new Response('<html>login</html>', { status: 200 });
    await assert.rejects(api('GET', '/x'), { name: 'ApiError', code: 'not_json' });
  });
});

test('getHtml fetches a page fragment and throws ApiError on a refusal', async () => {
  answer = () => new Response('<tr></tr>', { status: 200 });
  assert.equal(await getHtml('/queue?partial=1'), '<tr></tr>');
  assert.equal(requests[0].headers['X-Requested-With'], 'fetch');
  answer = () => new Response('nope', { status: 403, statusText: 'Forbidden' });
  await assert.rejects(getHtml('/queue?partial=1'), { status: 403 });
});

test('parseBody: JSON or null', () => {
  assert.deepEqual(parseBody('{"a": 1}'), { a: 1 });
  assert.equal(parseBody(''), null);
  assert.equal(parseBody('<html>'), null);
});

describe('errorLines', () => {
  test('nested details become "path: reason" lines', () => {
    assert.deepEqual(errorLines({ process: { key: ['Missing data.'] }, versions: { 0: { number: ['Not a number.'] } } }),
      ['process.key: Missing data.', 'versions.0.number: Not a number.']);
  });

  test('lists of {path, message} problems', () => {
    assert.deepEqual(errorLines({ errors: [{ path: 'stages[0].name', message: 'required' }, { path: '', message: 'empty lane' }] }),
      ['stages[0].name: required', 'empty lane']);
  });

  test('plain lists and values', () => {
    assert.deepEqual(errorLines(['a', 'b']), ['a', 'b']);
    assert.deepEqual(errorLines({ name: 'too long' }), ['name: too long']);
    assert.deepEqual(errorLines(null), []);
    assert.deepEqual(errorLines({}), []);
  });
});
