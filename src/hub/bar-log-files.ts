import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  readBarLog,
  type BarLogRead,
  type BarLogRef,
  type BarLogWrite,
  type NewPiece,
} from './bar-log-copy.ts';
import type { BarStore } from './bar-store.ts';
import { readBytesIfExists } from './journal-file.ts';

/**
 * A data directory's copy of the bar logs (see `BarLogCopy`): `bars/<id>/<day>.ndjson`, one
 * piece a line. The state file names the copy's id and how many lines of each day are its own;
 * lines past that (a compaction that died before its state was renamed into place) are not
 * read, and a copy that cannot go on from the state on disk starts over under a new id.
 */
const BARS_DIR = 'bars';

const NEWLINE = 0x0a;

const dayFile = (dir: string, id: string, day: string): string => join(dir, BARS_DIR, id, `${day}.ndjson`);

/** How a compaction waits for the disk (see `CompactionDisk`). */
export interface PieceDisk {
  /** Appends each chunk in turn, taking the next only once the one before is written. */
  appendSynced(path: string, chunks: Iterable<string>): void | Promise<void>;
  syncDir(dir: string): void | Promise<void>;
}

/** The lines of `pieces`, each encoded only when the one before is written. */
function* lines(write: BarLogWrite, pieces: readonly NewPiece[]): Generator<string> {
  for (const piece of pieces) yield `${write.text(piece)}\n`;
}

/**
 * Appends `write`'s pieces to their days' files and makes them durable, before the state that
 * names them is written: each yield is a wait for the disk.
 */
export function* writePieces(
  dir: string,
  write: BarLogWrite,
  disk: PieceDisk,
): Generator<void | Promise<void>> {
  if (write.pieces.length === 0) return;
  const copy = join(dir, BARS_DIR, write.id);
  mkdirSync(copy, { recursive: true });
  const byDay = new Map<string, NewPiece[]>();
  for (const piece of write.pieces) {
    const pieces = byDay.get(piece.day);
    if (pieces) pieces.push(piece);
    else byDay.set(piece.day, [piece]);
  }
  for (const [day, pieces] of byDay)
    yield disk.appendSynced(dayFile(dir, write.id, day), lines(write, pieces));
  yield disk.syncDir(copy);
  yield disk.syncDir(join(dir, BARS_DIR));
}

/**
 * Once the state naming `ref` is in place: removes the days `write` dropped and every other
 * copy (an older id, or one a dropped compaction began).
 */
export const removeUnnamed = (dir: string, ref: BarLogRef | undefined, write?: BarLogWrite): void => {
  const root = join(dir, BARS_DIR);
  if (!existsSync(root)) return;
  for (const id of readdirSync(root))
    if (id !== ref?.id) rmSync(join(root, id), { recursive: true, force: true });
  for (const { day } of write?.dropped ?? []) if (ref) rmSync(dayFile(dir, ref.id, day), { force: true });
};

/**
 * The bars of the copy `ref` names, oldest day first; or why they cannot be read. `exact`: the
 * copy's files hold those pieces and nothing else (no day or line a compaction that died left
 * past them), so that pieces added under its id from now on are read as written.
 */
export const readPieces = (
  dir: string,
  ref: BarLogRef,
  into: Pick<BarStore, 'put'>,
): Exclude<BarLogRead, { ok: true }> | (Extract<BarLogRead, { ok: true }> & { exact: boolean }) => {
  const named = Object.entries(ref.days).filter(([, pieces]) => pieces > 0);
  const files = existsSync(join(dir, BARS_DIR, ref.id)) ? readdirSync(join(dir, BARS_DIR, ref.id)) : [];
  let exact = files.length === named.length;
  const read = readBarLog(
    ref,
    (day, pieces) => {
      // Bytes, each line decoded as it is read: days of bars are hundreds of MB, and decoding a
      // file's text whole doubled what a start spends reading it.
      const bytes = readBytesIfExists(dayFile(dir, ref.id, day)) ?? Buffer.alloc(0);
      const ends: number[] = [];
      for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, i + 1)) ends.push(i);
      // A file of whole lines, one a piece, ends with a newline.
      if (pieces > 0 && (ends.length !== pieces || ends.at(-1) !== bytes.length - 1)) exact = false;
      return (k) => {
        if (k > ends.length) return undefined;
        const start = k === 0 ? 0 : ends[k - 1]! + 1;
        const end = ends[k] ?? bytes.length;
        return start < end ? bytes.toString('utf8', start, end) : undefined;
      };
    },
    into,
  );
  return read.ok ? { ...read, exact } : read;
};
