// `npm run build`: dist/cli.js, the server and CLI as one ESM bundle, and the browser bundles
// dist/widget.js (the <tick-tape> element) and dist/demo.js (the demo page).
//
// Plain JavaScript, not run through tsx: a production install (`npm ci --omit=dev`) has no
// devDependencies and must still build. esbuild is an optional dependency for that reason: a
// packed release carries dist/ and does not need it.
//
// `--or-existing` (what `npm start` runs first): without esbuild, keep an existing dist/
// instead of failing, so a deploy that left the build tool out still starts.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const dist = here('../dist');

const esbuild = await import('esbuild').catch(() => undefined);
if (!esbuild) {
  if (process.argv.includes('--or-existing') && existsSync(`${dist}/cli.js`)) process.exit(0);
  process.stderr.write(
    'tickstream build: esbuild is not installed. Install with `npm ci` (optional dependencies ' +
      'included), or install a packed release, which carries dist/.\n',
  );
  process.exit(1);
}

// The production dependencies stay in node_modules, where npm installs them; anything else the
// server imports (the client code `tail` uses, a workspace package) is bundled in.
const { dependencies } = JSON.parse(readFileSync(here('../package.json'), 'utf8'));
const server = esbuild.build({
  entryPoints: { cli: here('../src/cli.ts') },
  outdir: dist,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: Object.keys(dependencies),
  sourcemap: true,
  write: false,
  logLevel: 'warning',
});
const browser = esbuild.build({
  entryPoints: { widget: here('../client/widget/index.ts'), demo: here('../client/demo/demo.ts') },
  outdir: dist,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  legalComments: 'none',
  write: false,
  logLevel: 'warning',
});
// Each file is replaced whole (written aside, then renamed), so a server running from dist/
// never reads a half-written bundle.
mkdirSync(dist, { recursive: true });
for (const { path, contents } of (await Promise.all([server, browser])).flatMap((r) => r.outputFiles)) {
  const aside = `${path}.${process.pid}.tmp`; // two builds at once (tests) write apart
  writeFileSync(aside, contents, { mode: path.endsWith('cli.js') ? 0o755 : 0o644 });
  renameSync(aside, path);
  if (path.endsWith('.js'))
    process.stdout.write(`${relative(process.cwd(), path)}  ${(contents.length / 1024).toFixed(1)} KiB\n`);
}
