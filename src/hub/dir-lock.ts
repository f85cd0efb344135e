import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TickstreamError } from '../errors.ts';

const LOCK_FILE = 'lock';

/** Who holds a data dir: what the lock file records. */
interface Holder {
  pid: number;
  host: string;
  since?: string;
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The holder a lock file names: `{pid, host, since}`, or a bare pid (this host) as older versions wrote. */
const readHolder = (text: string): Holder | undefined => {
  if (/^\d+$/.test(text.trim())) return { pid: Number(text), host: hostname() };
  try {
    const value = JSON.parse(text) as Partial<Holder> | null;
    if (Number.isInteger(value?.pid) && typeof value?.host === 'string')
      return {
        pid: value.pid!,
        host: value.host,
        ...(typeof value.since === 'string' && { since: value.since }),
      };
  } catch {
    // Garbled: explained below like an empty file.
  }
  return undefined;
};

/**
 * Creates the lock file only if none exists: of two servers starting at once, one wins. The
 * record is written to a file of this process's own (`wx`) and then hard-linked into place,
 * which fails if the lock exists; so a lock is never seen empty while its holder is writing it,
 * as it could be with an open(`wx`) followed by a write.
 */
const create = (file: string): boolean => {
  const own = `${file}.${process.pid}.tmp`;
  // Left by a crashed process that had this pid before: no live process can share it.
  rmSync(own, { force: true });
  writeFileSync(
    own,
    JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }),
    {
      flag: 'wx',
    },
  );
  try {
    linkSync(own, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(own, { force: true });
  }
};

const readLock = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};

const refuse = (code: string, message: string): never => {
  throw new TickstreamError(code, message);
};

/** Why the lock cannot be taken, or nothing when its holder is gone (or is this process) and it may be. */
const checkHolder = (dir: string, file: string, text: string): void => {
  const holder = readHolder(text);
  if (!holder)
    refuse(
      'data_dir_lock_unreadable',
      `--data-dir ${dir}: ${file} is ${text.trim() === '' ? 'empty' : 'not a lock this server wrote'} ` +
        '(a server stopped while taking it, or is taking it right now); if no server uses the directory, delete the file',
    );
  const { pid, host, since } = holder!;
  const who = `process ${pid} on ${host}${since ? ` since ${since}` : ''}`;
  if (host !== hostname())
    refuse(
      'data_dir_lock_foreign',
      `--data-dir ${dir} is locked by ${who}, another host, whose processes this one cannot check: ` +
        `stop that server, or delete ${file} if it is gone`,
    );
  if (pid !== process.pid && isAlive(pid)) refuse('data_dir_locked', `--data-dir ${dir} is in use by ${who}`);
};

/**
 * Claims `dir` for this process: two servers journaling into one directory would reuse each
 * other's seqs. The lock is created exclusively and records host and pid; one left by a
 * process of this host that is gone (a kill -9) is taken over.
 */
export const lockDir = (dir: string): (() => void) => {
  const file = join(dir, LOCK_FILE);
  // Two rounds: a stale lock is removed once, then created like a fresh one; a server that
  // created it in between wins, and the second round explains who holds it.
  for (let round = 0; round < 2; round++) {
    if (create(file)) return () => rmSync(file, { force: true });
    const text = readLock(file);
    // Removed since: its holder stopped; try again.
    if (text === undefined) continue;
    checkHolder(dir, file, text);
    // Only the stale lock just read is removed, not one a faster server wrote since.
    if (readLock(file) === text) rmSync(file, { force: true });
  }
  return refuse(
    'data_dir_locked',
    `--data-dir ${dir} was locked by another server starting at the same time`,
  );
};
