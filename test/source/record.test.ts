import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { feedChanges } from '../../src/pipeline.ts';
import { readFeed } from '../../src/source/feed-file.ts';
import type { Frame } from '../../src/source/frame.ts';
import { recordFrames } from '../../src/source/recorder.ts';
import { fixtureFrames, fixturePath, repoPath, waitFor } from '../helpers.ts';
import { capturingLog } from './log-capture.ts';

const root = mkdtempSync(join(tmpdir(), 'tickstream-record-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dirFor = (name: string) => join(root, name);
const changes = (frames: Frame[]) => lastValueFrom(from(frames).pipe(feedChanges(), toArray()));
const record = (frames: Frame[], dir: string, now?: () => number) =>
  lastValueFrom(from(frames).pipe(recordFrames(dir, now), toArray()));

// The fixture's two frames, then the same two a day later with other prices: two day files.
const [first, second] = fixtureFrames('two-frames.txt') as [Frame, Frame];
const nextDay = (frame: Frame, text: string): Frame => ({
  ...frame,
  text,
  capturedAt: new Date(frame.capturedAt!.getTime() + 86_400_000),
});
const frames = [
  first,
  second,
  nextDay(first, second.text),
  nextDay(
    second,
    first.text.replace(
      'AIRLINK 80.60 Increased By ▲ 1.19 (1.5%)',
      'AIRLINK 80.61 Increased By ▲ 1.20 (1.51%)',
    ),
  ),
];

describe('record', () => {
  it('replays to exactly the events of the source it recorded, one file a day', async () => {
    const dir = dirFor('days');
    const written = await record(frames, dir);
    expect(readdirSync(dir)).toEqual(['2023-11-09.ndjson', '2023-11-10.ndjson']);
    expect(written.map((w) => w.capturedAt)).toEqual(frames.map((f) => f.capturedAt!.toISOString()));
    const lines = readFileSync(join(dir, '2023-11-09.ndjson'), 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(JSON.parse(lines[0]!)).toEqual({ capturedAt: '2023-11-09T04:31:00.000Z', text: first.text });

    const replayed = readFeed(dir);
    const original = await changes(frames);
    expect(original.length).toBeGreaterThan(40);
    expect(await changes(replayed)).toEqual(original);
  });

  it('gives a frame without a capture time the time it was recorded', async () => {
    const dir = dirFor('untimed');
    const now = Date.parse('2023-11-09T05:00:00.000Z');
    await record([{ text: first.text, origin: 'stdin' }], dir, () => now);
    expect(readFeed(dir)[0]!.capturedAt?.toISOString()).toBe('2023-11-09T05:00:00.000Z');
  });

  it('keeps appending after a crash cut the last line: the reader skips only that line', async () => {
    const dir = dirFor('crash');
    await record([first], dir);
    const file = join(dir, '2023-11-09.ndjson');
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"capturedAt":"2023-11-09T04:31:10.000Z","te`);
    await record([second], dir);
    const { log, records } = capturingLog();
    const replayed = readFeed(dir, log);
    expect(await changes(replayed)).toEqual(await changes([first, second]));
    expect(records).toContainEqual(expect.objectContaining({ level: 40, file, line: 2 }));
  });

  it('runs as the record command with the source flags of serve', async () => {
    const dir = dirFor('cli');
    const { stderr } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        repoPath('src/cli.ts'),
        'record',
        '--out',
        dir,
        '--feed',
        fixturePath('two-frames.txt'),
        '--speed',
        '0',
      ],
      { env: { ...process.env, LOG_LEVEL: 'info' }, timeout: 20_000 },
    );
    expect(stderr).toMatch(/"frames":2,"msg":"recording closed"/);
    expect(await changes(readFeed(dir))).toEqual(await changes([first, second]));
  });

  it('keeps the frame it was still reading from stdin when stopped by SIGINT', async () => {
    const dir = dirFor('stopped');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', repoPath('src/cli.ts'), 'record', '--out', dir, '--feed', '-'],
      { env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    const stamp = (frame: Frame) => `@@ ${frame.capturedAt!.toISOString()}`;
    // One write: the first frame is whole once the second's marker is read, and is recorded then;
    // the second is whole only at the next marker, or after half a second of quiet.
    child.stdin.write(`${stamp(first)}\n${first.text}\n${stamp(second)}\n${second.text}\n`);
    const file = join(dir, '2023-11-09.ndjson');
    await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('\n'), 'the first frame');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/"frames":2,"msg":"recording closed"/);
    expect(await changes(readFeed(dir))).toEqual(await changes([first, second]));
  });
});
