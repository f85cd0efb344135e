import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** A small real filesystem for a test file to fill up: where it could not be mounted, why. */
export interface Tmpfs {
  /** A scratch directory beside the mount point, on the machine's own disk. */
  root: string;
  /** The mount point. */
  mnt: string;
  /** Set once mounting failed or was not tried (not root): the reason a test skips with. */
  cannotMount: string | undefined;
}

/** Mounts a tmpfs of `size` (mount's syntax, e.g. `300k`) before the file's tests, and unmounts it after. */
export const useTmpfs = (name: string, size: string): Tmpfs => {
  const root = mkdtempSync(join(tmpdir(), `tickstream-${name}-`));
  const fs: Tmpfs = { root, mnt: join(root, 'mnt'), cannotMount: undefined };
  beforeAll(() => {
    if (process.getuid?.() !== 0) return void (fs.cannotMount = 'mounting a tmpfs needs root');
    mkdirSync(fs.mnt);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', fs.mnt], {
      encoding: 'utf8',
    });
    if (mounted.status !== 0)
      fs.cannotMount = `mount -t tmpfs failed: ${mounted.stderr.trim() || mounted.error}`;
  });
  afterAll(() => {
    if (fs.cannotMount === undefined) spawnSync('umount', [fs.mnt]);
    rmSync(root, { recursive: true, force: true });
  });
  return fs;
};

/** Fills the filesystem with a file until it refuses another byte. */
export const fill = (file: string): void => {
  const fd = openSync(file, 'w');
  try {
    for (const size of [65536, 4096, 1])
      for (;;) {
        try {
          if (writeSync(fd, Buffer.alloc(size)) < size) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
  } finally {
    closeSync(fd);
  }
};
