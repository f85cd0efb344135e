import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// This module sits one folder below the package root in the source (src/package.ts) and in the
// build (bundled into dist/cli.js), so the same relative URL finds the root from both.
const root = new URL('../', import.meta.url);

/** An absolute path to a file shipped with the package (the bundled replay, the demo page). */
export const packagePath = (path: string): string => fileURLToPath(new URL(path, root));

/** The package's version, as `--version`, the logs and `tickstream_build_info` report it. */
export const VERSION: string = (
  JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }
).version;
