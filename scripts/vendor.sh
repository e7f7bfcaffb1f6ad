#!/usr/bin/env bash
# Copy the built front-end files from node_modules/ into static/vendor/ (served as /static/vendor/...).
# Run after `npm ci`; scripts/setup.sh does both. static/vendor/ is generated, never committed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dest=static/vendor
mkdir -p "$dest"

# source file in node_modules/                  -> name under static/vendor/
files=(
  "sortablejs/Sortable.min.js                     Sortable.min.js"
  "chart.js/dist/chart.umd.min.js                 chart.umd.min.js"
  "chart.js/dist/chart.umd.min.js.map             chart.umd.min.js.map"
  "socket.io-client/dist/socket.io.min.js         socket.io.min.js"
  "socket.io-client/dist/socket.io.min.js.map     socket.io.min.js.map"
  "swagger-ui-dist/swagger-ui-bundle.js           swagger-ui/swagger-ui-bundle.js"
  "swagger-ui-dist/swagger-ui-standalone-preset.js swagger-ui/swagger-ui-standalone-preset.js"
  "swagger-ui-dist/swagger-ui.css                 swagger-ui/swagger-ui.css"
)

missing=0
for entry in "${files[@]}"; do
  read -r src name <<<"$entry"
  if [[ -f node_modules/$src ]]; then
    mkdir -p "$(dirname "$dest/$name")"
    cp -f "node_modules/$src" "$dest/$name"
  else
    echo "vendor.sh: node_modules/$src not found (did npm ci run?)" >&2
    missing=1
  fi
done
# the code editor (CodeMirror 6) is a tree of ES modules with bare imports: esbuild (a locked devDependency)
# bundles it into one ES module the Code stage's panel imports (static/js/builder/editor/code-editor.js)
if [[ -x node_modules/.bin/esbuild ]]; then
  if [[ ! -f $dest/codemirror.js || scripts/codemirror-entry.js -nt $dest/codemirror.js \
        || scripts/build-codemirror.mjs -nt $dest/codemirror.js || package-lock.json -nt $dest/codemirror.js ]]; then
    node scripts/build-codemirror.mjs "$dest/codemirror.js" || missing=1
  fi
else
  echo "vendor.sh: node_modules/.bin/esbuild not found (did npm ci run?)" >&2
  missing=1
fi
exit "$missing"
