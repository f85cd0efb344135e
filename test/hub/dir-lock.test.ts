import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockDir } from '../../src/hub/dir-lock.ts';
import { repoPath } from '../helpers.ts';
import { tempDirs } from '../temp-dirs.ts';

const newDir = tempDirs('tickstream-lock-');
const lockText = (dir: string) => readFileSync(join(dir, 'lock'), 'utf8');
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('the data-dir lock', () => {
  it('records host, pid and start time, and is gone after unlock', () => {
    const dir = newDir();
    const unlock = lockDir(dir);
    expect(JSON.parse(lockText(dir))).toEqual({
      pid: process.pid,
      host: hostname(),
      since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    unlock();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a lock held by a live process of this host, naming it', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: process.ppid, host: hostname(), since: 'x' }));
    expect(() => lockDir(dir)).toThrow(
      expect.objectContaining({
        code: 'data_dir_locked',
        message: `--data-dir ${dir} is in use by process ${process.ppid} on ${hostname()} since x`,
      }),
    );
  });

  it('takes over a lock left by a dead process of this host, in either format', () => {
    for (const text of [JSON.stringify({ pid: deadPid(), host: hostname() }), String(deadPid())]) {
      const dir = newDir();
      writeFileSync(join(dir, 'lock'), text);
      lockDir(dir)();
    }
  });

  it('explains an empty or garbled lock instead of taking it for a live one or over', () => {
    for (const [text, what] of [
      ['', 'empty'],
      ['{"pid":', 'not a lock this server wrote'],
    ]) {
      const dir = newDir();
      writeFileSync(join(dir, 'lock'), text!);
      expect(() => lockDir(dir)).toThrow(
        expect.objectContaining({
          code: 'data_dir_lock_unreadable',
          message: expect.stringContaining(`${join(dir, 'lock')} is ${what}`),
        }),
      );
      expect(lockText(dir)).toBe(text);
    }
  });

  it('does not judge a lock from another host by a local pid', () => {
    const dir = newDir();
    // A pid that is dead here may be alive there: the lock stays.
    const text = JSON.stringify({ pid: deadPid(), host: 'other-host.example', since: 'y' });
    writeFileSync(join(dir, 'lock'), text);
    expect(() => lockDir(dir)).toThrow(
      expect.objectContaining({
        code: 'data_dir_lock_foreign',
        message: expect.stringContaining('on other-host.example since y, another host'),
      }),
    );
    expect(lockText(dir)).toBe(text);
  });

  it('lets exactly one of several servers starting at once take the lock', async () => {
    const dir = newDir();
    const children = Array.from({ length: 4 }, () =>
      spawn(process.execPath, ['--import', 'tsx', repoPath('test/hub/lock-child.ts'), dir], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    try {
      const answers = await Promise.all(
        children.map(
          (child) =>
            new Promise<string>((resolve) => {
              let out = '';
              child.stdout.on('data', (chunk: Buffer) => {
                out += chunk.toString();
                if (out.endsWith('\n')) resolve(out.trim());
              });
            }),
        ),
      );
      expect(answers.filter((a) => a === 'won')).toHaveLength(1);
      expect(answers.filter((a) => a !== 'won')).toEqual([
        'data_dir_locked',
        'data_dir_locked',
        'data_dir_locked',
      ]);
    } finally {
      for (const child of children) child.stdin.end();
      await Promise.all(children.map((c) => new Promise((resolve) => c.once('exit', resolve))));
    }
  }, 30_000);
});
