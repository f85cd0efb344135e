import { closeSync, fdatasyncSync, openSync, promises as fsp, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BarLogWrite } from './bar-log-copy.ts';
import { removeUnnamed, writePieces, type PieceDisk } from './bar-log-files.ts';
import type { HubStateTexts } from './hub.ts';
import { headerLine } from './journal-file.ts';
import { writeWhole, writeWholeAsync, type JournalIo } from './journal-io.ts';
import { fdatasyncAsync, STATE_FILE, stateChunks, syncDir, syncDirAsync, writeSynced } from './state-file.ts';

/** The journal file in a data directory. */
export const JOURNAL_FILE = 'journal.ndjson';
/** Numbers the state files being written, so no two compactions in one process share a name. */
let stateFiles = 0;

/** How a compaction waits for the disk: blocking the loop, or beside it. */
export interface CompactionDisk extends PieceDisk {
  writeState(path: string, chunks: Iterable<string | Uint8Array>): void | Promise<void>;
  syncFile(fd: number): void | Promise<void>;
}

/** At start, close and recovery: nothing is served meanwhile, and the caller needs it done. */
export const blockingDisk = (io: JournalIo): CompactionDisk => ({
  writeState: (path, chunks) => {
    const fd = openSync(path, 'w');
    try {
      writeWhole(io, fd, Buffer.concat([...chunks].map((c) => (typeof c === 'string' ? Buffer.from(c) : c))));
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
  syncFile: (fd) => fdatasyncSync(fd),
  syncDir,
  appendSynced: (path, chunks) => {
    const fd = openSync(path, 'a');
    try {
      for (const chunk of chunks) writeWhole(io, fd, chunk);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
});

/** While serving: the state is written a piece per turn and synced off the loop. */
export const backgroundDisk: CompactionDisk = {
  writeState: writeSynced,
  syncFile: fdatasyncAsync,
  syncDir: syncDirAsync,
  appendSynced: async (path, chunks) => {
    const file = await fsp.open(path, 'a');
    try {
      for (const chunk of chunks) await writeWholeAsync(file, chunk);
      await file.sync();
    } finally {
      await file.close();
    }
  },
};

/** The new journal a finished compaction hands over, not yet renamed into place. */
export interface CompactedJournal {
  fd: number;
  /** Events it holds after its header. */
  lines: number;
  /** Whether some of them were written after its last sync. */
  unsynced: boolean;
}

/**
 * One compaction of `state` into `dir`, as steps: each yield is a wait for the disk, after
 * which the driver may drop it (the generator's `return` cleans up); the rename of the state
 * file and the last lines of the new journal run in the same turn as the driver's check.
 * `held` is the journal lines appended since `state`, still growing while it runs. `bars`, when
 * the state names a copy of the bar logs (`state.barLog`), is what that copy gains: written and
 * synced before the state. The returned journal is `journal.ndjson.tmp`, synced up to its last
 * lines; the caller swaps it in.
 */
export function* compaction(
  dir: string,
  state: HubStateTexts,
  held: readonly string[],
  disk: CompactionDisk,
  io: JournalIo,
  bars?: BarLogWrite,
): Generator<void | Promise<void>, CompactedJournal> {
  const tmp = join(dir, `${STATE_FILE}.${process.pid}-${++stateFiles}.tmp`);
  let journal: number | undefined;
  try {
    if (bars) yield* writePieces(dir, bars, disk);
    yield disk.writeState(tmp, stateChunks(state));
    renameSync(tmp, join(dir, STATE_FILE));
    yield disk.syncDir(dir);
    removeUnnamed(dir, state.barLog, bars);
    const written = held.length;
    journal = openJournal(dir, state, held.slice(0, written), io);
    yield disk.syncFile(journal);
    // The lines that came during the sync: the journal's fsync timer covers them.
    writeWhole(io, journal, held.slice(written).join(''));
    const fd = journal;
    journal = undefined;
    return { fd, lines: held.length, unsynced: held.length > written };
  } finally {
    // A failed or dropped compaction (a full disk) leaves nothing behind to fill it further.
    if (journal !== undefined) closeSync(journal);
    rmSync(tmp, { force: true });
  }
}

/** Opens `journal.ndjson.tmp` holding the header of `state` and `lines`. */
const openJournal = (dir: string, state: HubStateTexts, lines: readonly string[], io: JournalIo): number => {
  const fd = openSync(join(dir, `${JOURNAL_FILE}.tmp`), 'w');
  try {
    writeWhole(io, fd, headerLine({ epoch: state.epoch, seq: state.seq }) + lines.join(''));
  } catch (err) {
    closeSync(fd);
    rmSync(join(dir, `${JOURNAL_FILE}.tmp`), { force: true });
    throw err;
  }
  return fd;
};

/**
 * Runs a compaction beside the loop, dropping it once `current()` turns false after a wait;
 * `done` gets the result in the same turn as the last check, so nothing slips in between.
 */
export const runInBackground = async <T>(
  steps: Generator<void | Promise<void>, T>,
  current: () => boolean,
  done: (result: T) => void,
): Promise<void> => {
  try {
    for (;;) {
      const step = steps.next();
      if (step.done) return done(step.value);
      await step.value;
      if (!current()) return;
    }
  } finally {
    steps.return(undefined as never);
  }
};
