import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { repoPath } from './helpers.ts';

/** Where browser tests leave their screenshots (git-ignored). */
export const ARTIFACTS = repoPath('test/artifacts');

// Root needs --no-sandbox; without the background-networking flags Chromium keeps dialling
// hosts this machine's closed network refuses.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium (`/usr/bin/chromium`), headless, driven by playwright-core. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });

/** Builds dist/widget.js and dist/demo.js from the current source (the server serves them) and the artifacts folder. */
export const buildBundles = async (): Promise<void> => {
  await promisify(execFile)(process.execPath, [repoPath('scripts/build.js')]);
  mkdirSync(ARTIFACTS, { recursive: true });
};
