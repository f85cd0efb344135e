import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmdirSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { followFile } from '../../src/source/follow-file.ts';
import { openSource } from '../../src/source/options.ts';
import type { SourceState } from '../../src/protocol/messages.ts';
import { fixture, quietLog, testConfig, waitFor } from '../helpers.ts';
import { capturingLog } from './log-capture.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tickstream-follow-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let files = 0;
const newPath = () => join(tmp, `captures-${++files}.txt`);

const subscriptions: Subscription[] = [];
afterEach(() => subscriptions.splice(0).forEach((s) => s.unsubscribe()));

/** Follows `path` every 20 ms; the text read so far, its chunks' sizes, the failing flags and the log. */
const follow = (path: string, options: { maxReadBytes?: number } = {}) => {
  const { log, records } = capturingLog();
  const file = followFile(path, log, { pollMs: 20, maxBackoffMs: 160, ...options });
  const seen = { text: '', sizes: [] as number[], failing: [] as boolean[], records };
  subscriptions.push(file.failing$.subscribe((f) => seen.failing.push(f)));
  subscriptions.push(
    file.bytes$.subscribe((chunk) => {
      seen.text += chunk.toString();
      seen.sizes.push(chunk.length);
    }),
  );
  return seen;
};
const until = (check: () => boolean, what: string) => waitFor(() => check() || undefined, what);

describe('following a file', () => {
  it('reads a long file a bounded piece at a time, all of it and in order, then a rotation', async () => {
    const path = newPath();
    const lines = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => `line ${String(from + i).padStart(6, '0')}\n`).join('');
    const old = lines(0, 20_000); // 260 kB
    writeFileSync(path, old);
    const seen = follow(path, { maxReadBytes: 16_384 });
    await until(() => seen.sizes.length > 0, 'the first piece');
    // Renamed away, likely with most of it still unread: the old file is read to its end first.
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(20_000, 3));
    await until(() => seen.text.endsWith(lines(20_002, 1)), 'both files');
    expect(seen.text).toBe(old + lines(20_000, 3));
    expect(Math.max(...seen.sizes)).toBeLessThanOrEqual(16_384);
    expect(seen.sizes.length).toBeGreaterThanOrEqual(Math.ceil(old.length / 16_384));
  });

  it("survives logrotate's rename and create, reading the old file to its end first", async () => {
    const path = newPath();
    writeFileSync(path, 'one\n');
    const seen = follow(path);
    await until(() => seen.text === 'one\n', 'the first line');

    renameSync(path, `${path}.1`);
    // The writer has not reopened yet: it goes on appending to the renamed file.
    appendFileSync(`${path}.1`, 'two\n');
    writeFileSync(path, '');
    await until(() => seen.text === 'one\ntwo\n', 'the line written after the rename');
    appendFileSync(`${path}.1`, 'three\n');
    await until(() => seen.text === 'one\ntwo\nthree\n', 'the old file read on while the new is empty');
    // The writer reopens: its lines go to the new file, which is read from its start.
    appendFileSync(path, 'four\nfive\nsix\nseven\n');
    await until(() => seen.text.endsWith('seven\n'), 'the new file');
    expect(seen.text).toBe('one\ntwo\nthree\nfour\nfive\nsix\nseven\n');
    expect(seen.failing).toEqual([]);
    expect(seen.records).toContainEqual(
      expect.objectContaining({ msg: expect.stringContaining('replaced') }),
    );
  });

  it('survives copytruncate, whether the new content is shorter or already longer than the old', async () => {
    const path = newPath();
    writeFileSync(path, 'first capture\n');
    const seen = follow(path);
    await until(() => seen.text === 'first capture\n', 'the first capture');

    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    appendFileSync(path, 'short\n');
    await until(() => seen.text.endsWith('short\n'), 'the shorter content');

    // Truncated and written past the old position between two checks: only the bytes before
    // the position tell that the file was rewritten.
    copyFileSync(path, `${path}.2`);
    writeFileSync(path, 'a much longer capture than before\n');
    await until(() => seen.text.endsWith('before\n'), 'the longer content');
    expect(seen.text).toBe('first capture\nshort\na much longer capture than before\n');
    expect(seen.records.filter((r) => (r.msg as string).includes('again from the start'))).toHaveLength(2);
  });

  it('ends a line cut by the rotation, so the next file starts on a line of its own', async () => {
    const path = newPath();
    writeFileSync(path, 'whole\ncut sho');
    const seen = follow(path);
    await until(() => seen.text === 'whole\ncut sho', 'the cut line');
    truncateSync(path, 0);
    writeFileSync(path, '@@ 2023-11-09T04:31:00Z\n');
    await until(() => seen.text.endsWith('04:31:00Z\n'), 'the new content');
    expect(seen.text).toBe('whole\ncut sho\n@@ 2023-11-09T04:31:00Z\n');
  });

  it('says it is failing while the file is deleted, with backoff, and reads the new one from its start', async () => {
    const path = newPath();
    writeFileSync(path, 'old\n');
    const seen = follow(path);
    await until(() => seen.text === 'old\n', 'the old file');

    unlinkSync(path);
    await until(() => seen.failing.length === 1, 'failing');
    await until(() => seen.records.filter((r) => r.level === 20).length >= 3, 'three retries');
    const waits = seen.records.filter((r) => r.attempt !== undefined).map((r) => r.retryInMs);
    expect(waits.slice(0, 4)).toEqual([20, 40, 80, 160]);
    expect(seen.records.filter((r) => r.level === 40)).toHaveLength(1);

    writeFileSync(path, 'new\n');
    await until(() => seen.text === 'old\nnew\n', 'the recreated file');
    expect(seen.failing).toEqual([true, false]);
  });

  it('retries a read error (a directory where the file was) and goes on', async () => {
    const path = newPath();
    writeFileSync(path, 'before\n');
    const seen = follow(path);
    await until(() => seen.text === 'before\n', 'the file');
    unlinkSync(path);
    mkdirSync(path);
    await until(
      () => seen.records.some((r) => (r.err as { code?: string } | undefined)?.code === 'EISDIR'),
      'a read error',
    );
    expect(seen.failing.at(-1)).toBe(true);
    rmdirSync(path);
    writeFileSync(path, 'after\n');
    await until(() => seen.text === 'before\nafter\n', 'the file again');
    expect(seen.failing.at(-1)).toBe(false);
  });
});

describe('the --follow source', () => {
  it('says stale at once while its file is gone and running when it is back, with the frames going on', async () => {
    const [frame1, frame2] = fixture('two-frames.txt')
      .split(/^(?=@@)/m)
      .map((f) => (f.endsWith('\n') ? f : `${f}\n`)) as [string, string];
    const path = newPath();
    writeFileSync(path, frame1);
    // Stale-after is far off: the state changes below come from the file's faults.
    const source = openSource(
      { ...testConfig().source, follow: path, pollMs: 20, staleAfterMs: 60_000 },
      quietLog(),
    );
    const states: SourceState[] = [];
    const airlink: number[] = [];
    subscriptions.push(source.state$!.subscribe((s) => states.push(s)));
    subscriptions.push(
      source.frames$.subscribe((f) => {
        const m = /AIRLINK (\d+\.\d+)/.exec(f.text);
        if (m) airlink.push(Number(m[1]));
      }),
    );
    await until(() => airlink.length === 1, 'the first frame');
    renameSync(path, `${path}.1`);
    await until(() => states.at(-1) === 'stale', 'stale');
    writeFileSync(path, frame2);
    await until(() => airlink.length === 2, 'the frame in the new file');
    expect(states).toEqual(['running', 'stale', 'running']);
    expect(airlink).toEqual([80.6, 81.1]);
  });
});
