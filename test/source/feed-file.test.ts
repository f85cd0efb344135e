import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { frameEvents } from '../../src/pipeline.ts';
import { readFeed } from '../../src/source/feed-file.ts';
import { fixture, repoPath } from '../helpers.ts';
import { capturingLog } from './log-capture.ts';

const dir = mkdtempSync(join(tmpdir(), 'tickstream-feed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
};
const twoFrames = fixture('two-frames.txt');
const seed = readFileSync(repoPath('replay/seed.txt'), 'utf8');
const quotesOf = (text: string) => frameEvents({ text, origin: 't' }).filter((e) => e.type === 'quote');

describe('readFeed', () => {
  it('reads a single capture as one frame without a time', () => {
    const frames = readFeed(repoPath('replay/seed.txt'));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.capturedAt).toBeUndefined();
    expect(quotesOf(frames[0]!.text)).toHaveLength(34);
  });

  it('splits @@ text into frames with their capture times', () => {
    const frames = readFeed(file('two.txt', twoFrames));
    expect(frames.map((f) => f.capturedAt?.toISOString())).toEqual([
      '2023-11-09T04:31:00.000Z',
      '2023-11-09T04:31:30.000Z',
    ]);
    expect(frames[1]!.origin).toBe(`${join(dir, 'two.txt')}:92`);
  });

  it('reads a first @@ marker behind a byte-order mark', () => {
    expect(readFeed(file('bom.txt', `\uFEFF${twoFrames}`))[0]!.capturedAt?.toISOString()).toBe(
      '2023-11-09T04:31:00.000Z',
    );
  });

  it('reads gzip transparently, by content rather than name', () => {
    const plain = readFeed(file('two.txt', twoFrames));
    expect(readFeed(file('two.txt.gz', gzipSync(twoFrames))).map((f) => f.text)).toEqual(
      plain.map((f) => f.text),
    );
    expect(readFeed(file('renamed.bin', gzipSync(twoFrames)))).toHaveLength(2);
  });

  it('reads a directory of captures in name order, skipping an unreadable file with a log line', () => {
    file('dir/b.txt', '@@ 2023-11-09T04:32:00Z\nBOP 5.30 Increased By ▲ 0.04 (0.76%)\n');
    file('dir/a.txt', seed);
    file('dir/c.txt.gz', gzipSync('@@ 2023-11-09T04:33:00Z\nBOP 5.31 Increased By ▲ 0.05 (0.95%)\n'));
    const locked = file('dir/bb.txt', 'x');
    chmodSync(locked, 0o000);
    const { log, records } = capturingLog();
    const frames = readFeed(join(dir, 'dir'), log);
    // root can read a mode-000 file; then it is one more frame and nothing is logged.
    const readable = process.getuid?.() === 0;
    expect(frames.map((f) => f.origin.split('/').pop())).toEqual([
      'a.txt:1',
      'b.txt:1',
      ...(readable ? ['bb.txt:1'] : []),
      'c.txt.gz:1',
    ]);
    if (!readable)
      expect(records).toContainEqual(
        expect.objectContaining({ file: locked, msg: 'cannot read capture file; skipped' }),
      );
  });

  it('logs a bad @@ marker with file and line and keeps its frame without a time', () => {
    const { log, records } = capturingLog();
    const path = file(
      'bad-marker.txt',
      '@@ not-a-time\nBOP 5.30 Increased By ▲ 0.04 (0.76%)\n@@ 2023-11-09T04:32:00Z\nBOP 5.31 Increased By ▲ 0.05 (0.95%)\n',
    );
    const frames = readFeed(path, log);
    expect(frames).toHaveLength(2);
    expect(frames[0]!.capturedAt).toBeUndefined();
    expect(records).toContainEqual(expect.objectContaining({ level: 40, file: path, line: 1 }));
  });

  it('skips a last line cut mid-quote with a log line, and replays the rest', () => {
    const unity = twoFrames.indexOf('\nUNITY', twoFrames.indexOf('@@', 10));
    const cut = twoFrames.slice(0, twoFrames.indexOf('(', unity) + 3);
    const { log, records } = capturingLog();
    const path = file('cut.txt', cut);
    const frames = readFeed(path, log);
    expect(frames).toHaveLength(2);
    const last = frames[1]!.text.split('\n').at(-1);
    expect(last).toMatch(/^TRG /);
    expect(
      readFeed(file('cut2.txt', cut.slice(0, unity + 9)))[1]!
        .text.split('\n')
        .at(-1),
    ).toMatch(/^TRG /);
    expect(quotesOf(frames[1]!.text).every((q) => !('suspect' in q))).toBe(true);
    expect(frames.flatMap((f) => frameEvents(f)).filter((e) => e.type === 'rejected')).toEqual([]);
    expect(records).toContainEqual(
      expect.objectContaining({
        file: path,
        line: cut.split('\n').length,
        msg: 'file ends mid-line (truncated?); last line skipped',
      }),
    );
  });

  it('replays the part of a cut gzip file that decompresses', () => {
    const zipped = readFileSync(repoPath('replay/session.txt.gz'));
    const { log, records } = capturingLog();
    const frames = readFeed(file('cut.txt.gz', zipped.subarray(0, zipped.length / 2)), log);
    expect(frames.length).toBeGreaterThan(100);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 40, msg: expect.stringMatching(/gzip file is cut/) }),
    );
  });

  it('reads an NDJSON recording and skips a partial last line with its line number', () => {
    const recording = [
      JSON.stringify({
        capturedAt: '2023-11-09T04:31:00.000Z',
        text: 'BOP 5.30 Increased By ▲ 0.04 (0.76%)',
      }),
      JSON.stringify({
        capturedAt: '2023-11-09T04:31:20.000Z',
        text: 'BOP 5.31 Increased By ▲ 0.05 (0.95%)',
      }),
      '{"capturedAt":"2023-11-09T04:31:40.000Z","text":"BOP 5.3',
    ].join('\n');
    const { log, records } = capturingLog();
    const path = file('rec.ndjson', recording);
    const frames = readFeed(path, log);
    expect(frames.map((f) => [f.capturedAt?.toISOString(), f.origin])).toEqual([
      ['2023-11-09T04:31:00.000Z', `${path}:1`],
      ['2023-11-09T04:31:20.000Z', `${path}:2`],
    ]);
    expect(records).toContainEqual(expect.objectContaining({ level: 40, file: path, line: 3 }));
  });

  it('throws for a feed path that does not exist', () => {
    expect(() => readFeed(join(dir, 'missing.txt'))).toThrow(/ENOENT/);
  });
});
