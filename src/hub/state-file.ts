import { closeSync, fdatasync, fsyncSync, openSync, promises as fsp, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { schemaProblem } from '../protocol/messages.ts';
import { BarLogRef } from './bar-log-copy.ts';
import type { HeldTexts } from './history.ts';
import type { HubState, HubStateTexts } from './hub.ts';
import { readTextIfExists } from './journal-file.ts';
import { writeWholeAsync } from './journal-io.ts';

/** The compacted state in a data directory. */
export const STATE_FILE = 'state.json';

/** Makes renames in `dir` durable: a rename is only on disk once the directory is synced. */
export const syncDir = (dir: string): void => {
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
};

/** `syncDir` off the event loop. */
export const syncDirAsync = async (dir: string): Promise<void> => {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/** fdatasync off the event loop. */
export const fdatasyncAsync = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));

/** Events per piece of the state file: each piece is a millisecond or so of work. */
const CHUNK = 2000;
const COMMA = 0x2c;

/**
 * The state file's text, in pieces. History events are copied in as the JSON bytes history
 * holds them as, never decoded (a full history runs to megabytes), and a compaction beside the
 * journal writes one piece per turn of the event loop instead of building the whole text at once.
 */
export function* stateChunks(state: HubStateTexts): Generator<string | Uint8Array> {
  const { history, ...rest } = state;
  const { ats } = history;
  yield JSON.stringify(rest).slice(0, -1);
  yield ',"historyAt":[';
  for (let i = 0; i < ats.length; i += CHUNK) yield (i > 0 ? ',' : '') + ats.subarray(i, i + CHUNK).join(',');
  yield '],"history":[';
  for (let i = 0; i < history.length; i += CHUNK)
    yield joinTexts(history, i, Math.min(i + CHUNK, history.length));
  yield ']}';
}

/** Events `from` … `to` of `texts` with a comma before each (but the very first). */
const joinTexts = (texts: HeldTexts, from: number, to: number): Buffer => {
  let size = from > 0 ? to - from : to - from - 1;
  for (let k = from; k < to; k++) size += texts.lengths[k]!;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let k = from; k < to; k++) {
    if (k > 0) out[at++] = COMMA;
    at += texts.copy(k, out, at);
  }
  return out;
};

/** Writes and syncs a file piece by piece, without blocking the event loop. */
export const writeSynced = async (path: string, chunks: Iterable<string | Uint8Array>): Promise<void> => {
  const file = await fsp.open(path, 'w');
  try {
    for (const chunk of chunks) await writeWholeAsync(file, chunk);
    await file.sync();
  } finally {
    await file.close();
  }
};

/** The last compacted state, or undefined; an unreadable one is moved aside and reported. */
export const readState = (dir: string, log: Logger): HubState | undefined => {
  const file = join(dir, STATE_FILE);
  const text = readTextIfExists(file);
  if (text === undefined) return undefined;
  try {
    const state = JSON.parse(text) as HubState;
    if (
      typeof state.epoch === 'string' &&
      Number.isInteger(state.seq) &&
      Array.isArray(state.quotes) &&
      // The copy's id names a directory: read only as the schema has it.
      (state.barLog === undefined || schemaProblem(BarLogRef, state.barLog) === undefined)
    )
      return state;
  } catch {
    // Reported below, with the file kept for inspection.
  }
  const aside = `${file}.corrupt-${Date.now()}`;
  renameSync(file, aside);
  log.error({ file, movedTo: aside }, 'state file is unreadable; starting a new epoch');
  return undefined;
};
