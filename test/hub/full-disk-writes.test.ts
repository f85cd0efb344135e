import { closeSync, ftruncateSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundDisk } from '../../src/hub/journal-compaction.ts';
import { fill, useTmpfs } from '../tmpfs.ts';

/** A real filesystem of 64 KB (a tmpfs; it needs root) filled up but for one page. */
const disk = useTmpfs('full-disk-writes', '64k');
const PAGE = 4096;
const filler = () => join(disk.mnt, 'filler');

/** Fills the disk, then frees one page of it: the next writes take 4 KB and no more. */
const leaveOnePage = () => {
  fill(filler());
  const fd = openSync(filler(), 'r+');
  try {
    ftruncateSync(fd, statSync(filler()).size - PAGE);
  } finally {
    closeSync(fd);
  }
};

// A full disk takes the part of a write that fits and refuses only the next one: a last chunk
// cut short must fail the write, not leave a file that looks whole.
describe('background writes on a disk that fills up in their last chunk', () => {
  afterEach(() => {
    if (disk.cannotMount) return;
    for (const name of readdirSync(disk.mnt)) rmSync(join(disk.mnt, name), { force: true });
  });

  const chunks = ['a'.repeat(1000), 'b'.repeat(5000)];

  it('a state file cut short is an error (ESHORT), not a finished file', async (ctx) => {
    if (disk.cannotMount) ctx.skip(disk.cannotMount);
    leaveOnePage();
    const file = join(disk.mnt, 'state.json');
    await expect(backgroundDisk.writeState(file, chunks)).rejects.toMatchObject({ code: 'ESHORT' });
  });

  it('bar log pieces appended and cut short are an error (ESHORT)', async (ctx) => {
    if (disk.cannotMount) ctx.skip(disk.cannotMount);
    leaveOnePage();
    const file = join(disk.mnt, 'pieces');
    await expect(backgroundDisk.appendSynced(file, chunks)).rejects.toMatchObject({ code: 'ESHORT' });
  });
});
