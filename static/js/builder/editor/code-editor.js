// The Code stage's editor: CodeMirror 6 with Python highlighting (bundled by scripts/vendor.sh into
// static/vendor/codemirror.js, imported on demand) over a plain textarea. The textarea holds the
// value and stays the editor when the bundle cannot load. Changes are saved on blur, like inputs.
// CSP: in a document CodeMirror writes its styles into a <style> tag, which `style-src 'self'` blocks;
// inside a shadow root it uses a constructable style sheet, which the CSP allows: so it lives in one.
import { el } from '../../lib/dom.js';

const BUNDLE = new URL('../../../vendor/codemirror.js', import.meta.url).href;

// builder.css does not reach into the shadow root: the editor's own look
const THEME = (cm) => cm.EditorView.theme({
  '&': { border: '1px solid #c8ccd8', borderRadius: '6px', maxHeight: '28rem', fontSize: '0.82rem', background: '#fff' },
  '.cm-scroller': { fontFamily: 'ui-monospace, monospace', overflow: 'auto' },
  '.cm-content': { tabSize: '4' },
  '&.cm-focused': { outline: '2px solid #3b6fd8' },
});

export function codeInput({ name, value, label, onChange }) {
  const ta = el('textarea', { rows: 14, name, class: 'code', spellcheck: 'false', 'aria-label': label,
    onchange: (e) => onChange(e.target.value) });
  ta.value = value ?? '';
  const box = el('div', { class: 'code-editor', dataset: { editor: 'textarea' } }, ta);
  mount(box, ta, label, onChange);
  return box;
}

async function mount(box, ta, label, onChange) {
  let cm;
  try {
    cm = await import(BUNDLE);
  } catch (err) {
    console.warn('code editor unavailable, using the plain text box', err);
    return;
  }
  const host = el('div', { class: 'cm-host' });
  const shadow = host.attachShadow({ mode: 'open' });
  let saved = ta.value;
  const save = () => { if (ta.value !== saved) { saved = ta.value; onChange(ta.value); } };
  new cm.EditorView({
    doc: ta.value,
    parent: shadow,
    root: shadow,
    extensions: [
      cm.basicSetup, cm.python(), THEME(cm),
      cm.EditorView.contentAttributes.of({ 'aria-label': label }),
      cm.EditorView.updateListener.of((u) => { if (u.docChanged) ta.value = u.state.doc.toString(); }),
      cm.EditorView.domEventHandlers({ blur: () => { save(); } }),
    ],
  });
  ta.hidden = true;
  box.append(host);
  box.dataset.editor = 'codemirror';
}
