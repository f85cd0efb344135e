import { statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The browser bundles: `/widget.js` (the `<tick-tape>` element) and `/demo.js` (the demo page). */
export const BUNDLES = {
  widget: here('./widget/index.ts'),
  demo: here('./demo/demo.ts'),
} as const;

/** Builds the browser bundles into `outdir` (default `dist/`); returns the files written. */
export const buildClient = async (outdir = here('../dist')): Promise<string[]> => {
  const result = await build({
    entryPoints: BUNDLES,
    outdir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  return Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = await buildClient();
  for (const f of files) process.stdout.write(`${f}  ${(statSync(f).size / 1024).toFixed(1)} KiB\n`);
}
