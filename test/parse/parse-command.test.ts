import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fixture, fixturePath, repoPath } from '../helpers.ts';

/** Runs `tickstream parse ARGS` as a user would, optionally feeding stdin. */
const runParse = (args: string[], stdin?: string) =>
  new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', repoPath('src/cli.ts'), 'parse', ...args],
      { timeout: 20_000 },
      (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })),
    );
    child.stdin?.end(stdin ?? '');
  });

describe('tickstream parse', () => {
  it('prints each frame’s events as NDJSON and the line counts with --stats', async () => {
    const file = fixturePath('parse-mixed.txt');
    const { stdout, stderr } = await runParse([file, '--stats']);
    const events = stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.map((e) => [e.type, e.line, e.origin])).toEqual([
      ['quote', 1, `${file}:1`],
      ['quote', 2, `${file}:1`],
      ['rejected', 3, `${file}:1`],
      ['headline', 5, `${file}:1`],
      ['quote', 1, `${file}:15`],
      ['quote', 2, `${file}:15`],
    ]);
    expect(events[2]).toMatchObject({ reason: 'price "eighty" is not a number' });
    expect(events[3]).toMatchObject({
      dateline: 'SEOUL',
      title: 'Blinken met Yoon on Thursday.',
      subheads: ['Upgraded alliance'],
    });
    expect(events[5]).toMatchObject({ suspect: 'says "Increased" but the arrow is ▼' });
    expect(stderr).toBe(
      'quotes 4 (suspect 1), headlines 1 (3 lines), rejected 1, noise 3, blank 5, lines 16\n',
    );
  });

  it('reads stdin when no file is given, and prints no counts without --stats', async () => {
    const { stdout, stderr } = await runParse([], fixture('parse-mixed.txt'));
    expect(stdout.split('\n').filter(Boolean)).toHaveLength(6);
    expect(stdout).toContain('"origin":"stdin:1"');
    expect(stderr).toBe('');
  });
});
