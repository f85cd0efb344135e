import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { readTextIfExists } from './journal-file.ts';
import { syncDir } from './state-file.ts';

/**
 * A small file whose presence says the state and journal hold every event clients were sent.
 * It is removed the moment a write fails (an unlink needs no free space, so it works on a full
 * disk) and made again once a compaction has put the whole state back on disk. While events may
 * wait for fsync it names the machine's boot: after an OS crash or power loss (another boot)
 * those events may be gone. A restart that does not find it, or finds another boot in it,
 * starts a new epoch, so no client resumes onto a state the journal lost.
 */
const INTACT_FILE = 'intact';

/** This boot of the machine (Linux), or undefined where it cannot be told. */
export const currentBoot = (): string | undefined => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
};

/**
 * Why the directory may lack events that were sent, or undefined when it holds them all
 * (`boot` is the machine's current boot).
 */
export const lossReason = (dir: string, boot: string | undefined): string | undefined => {
  const text = readTextIfExists(join(dir, INTACT_FILE));
  if (text === undefined) return 'a journal write failed (or the directory has no intact mark)';
  let mark: { boot?: unknown };
  try {
    mark = JSON.parse(text) as { boot?: unknown };
  } catch {
    return 'the intact mark is unreadable';
  }
  if (typeof mark.boot === 'string' && mark.boot !== boot)
    return 'the machine restarted (an OS crash or power loss) while events waited for fsync';
  return undefined;
};

/**
 * Declares the directory's state and journal whole (after a successful compaction); `boot` when
 * later events may wait for fsync, so that a crash of this boot is known to have lost them.
 */
export const markIntact = (dir: string, boot?: string): void => {
  const tmp = join(dir, `${INTACT_FILE}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(boot === undefined ? {} : { boot }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, INTACT_FILE));
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
