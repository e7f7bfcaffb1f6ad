// The code editor's bundle (CodeMirror 6 + Python), built by scripts/vendor.sh with esbuild into
// static/vendor/codemirror.js: one ES module, no CDN, no bare imports for the browser to resolve.
export { EditorView, basicSetup } from 'codemirror';
export { python } from '@codemirror/lang-python';
export { EditorState } from '@codemirror/state';
