// Bundles CodeMirror 6 + Python (scripts/codemirror-entry.js) into one ES module,
// static/vendor/codemirror.js, with esbuild (a locked devDependency). Run by scripts/vendor.sh.
//
// CSP: Procly allows no inline style (style-src 'self'). CodeMirror injects its theme through
// constructable style sheets (allowed) but also writes a `style="tab-size: N"` attribute on its content
// element, which the CSP blocks and reports; that one attribute is removed here (the tab size comes from
// builder.css instead). The build fails if the line is not found, so an upgrade cannot slip past it.
import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';

const TAB_SIZE_STYLE = /^\s*style: `\$\{browser\.tabSize\}: \$\{this\.state\.tabSize\}`,\n/m;

const noInlineStyle = {
  name: 'no-inline-style',
  setup(b) {
    b.onLoad({ filter: /@codemirror[\\/]view[\\/]dist[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!TAB_SIZE_STYLE.test(source)) throw new Error('@codemirror/view: the tab-size style attribute was not found');
      return { contents: source.replace(TAB_SIZE_STYLE, ''), loader: 'js' };
    });
  },
};

await build({
  entryPoints: ['scripts/codemirror-entry.js'], bundle: true, format: 'esm', minify: !process.env.CM_DEBUG,
  outfile: process.argv[2] || 'static/vendor/codemirror.js', plugins: [noInlineStyle], logLevel: 'warning',
});
