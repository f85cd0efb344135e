import { closeSync, existsSync, openSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { syncDir } from './state-file.ts';

/**
 * An empty file whose presence says the state and journal hold every event clients were sent.
 * It is removed the moment a write fails (an unlink needs no free space, so it works on a full
 * disk) and made again once a compaction has put the whole state back on disk; a restart that
 * does not find it starts a new epoch, so no client resumes onto a state the journal lost.
 */
const INTACT_FILE = 'intact';

/** Whether the data directory's journal holds everything that was sent. */
export const isIntact = (dir: string): boolean => existsSync(join(dir, INTACT_FILE));

/** Declares the directory's state and journal whole again (after a successful compaction). */
export const markIntact = (dir: string): void => {
  closeSync(openSync(join(dir, INTACT_FILE), 'w'));
  syncDir(dir);
};

/** Declares that events were sent that the journal may not hold; throws when it cannot. */
export const markLost = (dir: string, unlink: (path: string) => void = unlinkSync): void => {
  try {
    unlink(join(dir, INTACT_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  syncDir(dir);
};
