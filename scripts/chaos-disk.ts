/**
 * The chaos run's data disk: a small tmpfs mounted for the run when root, so filling it is a
 * real ENOSPC for the ingest's journal; elsewhere a plain directory, and the fill is skipped.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface ChaosDisk {
  readonly dir: string;
  /** Why filling is skipped on this machine; undefined when it can be filled. */
  readonly cannotFill: string | undefined;
  /** Writes a file until the filesystem is full; returns the bytes written. */
  fill(): number;
  /** Removes the fill. */
  free(): void;
  /** Frees and unmounts. */
  close(): void;
}

const SIZE = '16m';

/** Mounts a tmpfs of 16 MB at `dir` when root; otherwise `dir` stays a plain directory. */
export const chaosDisk = (dir: string): ChaosDisk => {
  mkdirSync(dir, { recursive: true });
  let cannotFill: string | undefined;
  if (process.getuid?.() !== 0) cannotFill = 'not root: cannot mount a tmpfs to fill';
  else
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE}`, 'tmpfs', dir], { stdio: 'pipe' });
    } catch (err) {
      cannotFill = `mounting a tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
    }
  const filler = join(dir, 'fill');
  return {
    dir,
    cannotFill,
    fill: () => {
      if (cannotFill) return 0;
      const fd = openSync(filler, 'w');
      const chunk = Buffer.alloc(64 * 1024, 1);
      let written = 0;
      try {
        // Smaller writes once the big ones are refused, so not a byte is left.
        for (let size = chunk.length; size >= 512;)
          try {
            written += writeSync(fd, chunk, 0, size);
          } catch {
            size /= 2;
          }
      } finally {
        closeSync(fd);
      }
      return written;
    },
    free: () => rmSync(filler, { force: true }),
    close: () => {
      rmSync(filler, { force: true });
      if (!cannotFill) execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    },
  };
};

/** Free bytes on the filesystem of `dir`. */
export const freeBytes = (dir: string): number => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};
