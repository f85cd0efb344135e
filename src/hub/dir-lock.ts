import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TickstreamError } from '../errors.ts';

const LOCK_FILE = 'lock';

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Claims `dir` for this process: two servers journaling into one directory would reuse each
 * other's seqs. A lock left by a process that is gone (a kill -9) is taken over.
 */
export const lockDir = (dir: string): (() => void) => {
  const file = join(dir, LOCK_FILE);
  let holder: number | undefined;
  try {
    holder = Number(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (holder !== undefined && holder !== process.pid && Number.isInteger(holder) && isAlive(holder))
    throw new TickstreamError('data_dir_locked', `--data-dir ${dir} is in use by process ${holder}`);
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
};
