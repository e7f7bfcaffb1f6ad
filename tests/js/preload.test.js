// The lane editor's page preloads exactly the modules editor.js imports, directly or not: a module
// left out would be fetched late (import after import), one no longer used would be fetched for nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const JS = join(ROOT, 'static', 'js');

function importGraph(entry) {
  const seen = new Set();
  const walk = (file) => {
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/^import\s[^;]*?from\s+'([^']+)';/gms)) {
      const dep = join(dirname(file), spec);
      if (!seen.has(dep)) { seen.add(dep); walk(dep); }
    }
  };
  walk(entry);
  return [...seen].map((f) => relative(JS, f)).sort();
}

test('editor.html preloads every module of the editor, and only those', () => {
  const html = readFileSync(join(ROOT, 'templates', 'builder', 'editor.html'), 'utf8');
  const list = html.match(/\{% for m in \[([^\]]*)\] %\}\s*<link rel="modulepreload"/);
  assert.ok(list, 'no modulepreload loop in editor.html');
  const preloaded = [...list[1].matchAll(/'([^']+)'/g)].map((m) => m[1]).sort();
  assert.deepEqual(preloaded, importGraph(join(JS, 'builder', 'editor.js')));
});
