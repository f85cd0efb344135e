import fc from 'fast-check';
import pino from 'pino';
import { lastValueFrom, from, toArray } from 'rxjs';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseText } from '../../src/parse/parse-text.ts';
import type { ParsedEvent } from '../../src/parse/events.ts';
import { newParseStats, type ParseStats } from '../../src/parse/stats.ts';
import { splitLines } from '../../src/parse/split-lines.ts';
import { splitFrames } from '../../src/source/feed-file.ts';
import { repoPath } from '../helpers.ts';
import { liveHeap } from './crowd.ts';

const seed = readFileSync(repoPath('replay/seed.txt'), 'utf8');
const seedLines = seed.split('\n').filter((l) => l.trim() !== '');

/** Deterministic bytes (xorshift), so a failure reproduces from the same corpus. */
const garbage = (size: number, seedValue = 0x9e3779b9): Buffer => {
  const out = Buffer.alloc(size);
  let x = seedValue;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
};

const MB = 1024 * 1024;

/**
 * The checks every parse must pass, whatever the input: each event points at a real line,
 * numbers are finite, and every line is accounted for as blank, quote, story, rejected or
 * noise, with the counts matching the events.
 */
const expectSane = (text: string, events: ParsedEvent[], stats: ParseStats) => {
  const lines = text.split('\n');
  for (const e of events) {
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(lines[e.line - 1]?.trim()).toBeTruthy();
    if (e.type === 'quote') {
      // A number that does not fit a double must not reach the wire as null.
      expect([e.price, e.change, e.changePercent].every(Number.isFinite), JSON.stringify(e)).toBe(true);
    }
  }
  const count = (type: ParsedEvent['type']) => events.filter((e) => e.type === type).length;
  expect(stats.lines).toBe(text === '' ? 0 : lines.length - (text.endsWith('\n') ? 1 : 0));
  expect(stats.blank + stats.quotes + stats.storyLines + stats.rejected + stats.noise).toBe(stats.lines);
  expect([stats.quotes, stats.rejected, stats.headlines]).toEqual([
    count('quote'),
    count('rejected'),
    count('headline'),
  ]);
};

/**
 * Cost model from the seed measured in this run: time grows with bytes and with lines, so a
 * bound per input is K times what the seed would cost at that size. K is generous: only
 * super-linear behaviour (a backtracking regex, a quadratic loop) gets near it.
 */
const K = 10;
let msPerByte = 0;
let msPerLine = 0;

const hostile: { name: string; text: () => string }[] = [
  { name: 'binary garbage (4 MB)', text: () => garbage(4 * MB).toString('utf8') },
  { name: 'binary garbage as latin1 (2 MB)', text: () => garbage(2 * MB, 7).toString('latin1') },
  {
    name: 'invalid UTF-8 sequences (2 MB)',
    text: () =>
      Buffer.concat(
        Array.from({ length: (2 * MB) / 16 }, () =>
          Buffer.from([
            0xc3, 0x28, 0xf0, 0x28, 0x8c, 0xbc, 0xed, 0xa0, 0x80, 0xff, 0xfe, 0x41, 0x20, 0x31, 0x0a, 0xc0,
          ]),
        ),
      ).toString('utf8'),
  },
  {
    name: 'lone surrogates in quote lines',
    text: () => `AIRLINK\ud800 80.60 Increased By ▲ 1.19 (1.5%)\n`.repeat(20_000),
  },
  { name: 'one 10 MB line of letters', text: () => 'A'.repeat(10 * MB) },
  {
    name: 'one 10 MB quote-like line (rejected path)',
    text: () => `AIRLINK 80.60 Increased By ▲ ${'1,'.repeat(5 * MB)} (1.5%`,
  },
  {
    name: 'one 10 MB line of digits and parentheses',
    text: () => `(${'1'.repeat(49)}`.repeat((10 * MB) / 50),
  },
  { name: 'a 2 MB story paragraph', text: () => `SEOUL: ${'a. '.repeat((2 * MB) / 3)}` },
  { name: 'a million empty lines', text: () => '\n'.repeat(1_000_000) },
  { name: 'a million CRLF blank lines with NBSP and tabs', text: () => ' \t\u00a0\r\n'.repeat(1_000_000) },
  { name: '200,000 repeated @@ markers', text: () => '@@ 2023-11-09T04:31:00.000Z\n'.repeat(200_000) },
  { name: 'one 2 MB @@ marker line', text: () => '@'.repeat(2 * MB) },
  {
    name: 'huge numbers (400 digits)',
    text: () =>
      [
        `KSE100 ${'9'.repeat(400)} Increased By 771.4 (1.07%)`,
        `AIRLINK 80.60 Increased By ▲ ${'9'.repeat(400)} (1.5%)`,
        `AIRLINK 80.60 Increased By ▲ 1.19 (${'9'.repeat(400)}%)`,
        `HBL ${'1'.repeat(30)}.${'1'.repeat(30)} Decreased By ▼ -0.08 (-0.07%)`,
      ].join('\n'),
  },
  {
    name: 'NaN and Infinity text',
    text: () =>
      [
        'AIRLINK NaN Increased By ▲ 1.19 (1.5%)',
        'AIRLINK Infinity Increased By ▲ 1.19 (1.5%)',
        'AIRLINK 80.60 Increased By ▲ NaN (1.5%)',
        'AIRLINK 80.60 Increased By ▲ -Infinity (Infinity%)',
        'KSE100 1e308 Increased By 1e308 (1e308%)',
      ].join('\n'),
  },
];

describe('parser under hostile input', () => {
  beforeAll(() => {
    const corpus = seed.repeat(Math.ceil((2 * MB) / seed.length));
    parseText(corpus); // warm up the JIT so the baseline is the steady state
    const started = performance.now();
    parseText(corpus);
    const ms = performance.now() - started;
    msPerByte = ms / corpus.length;
    msPerLine = ms / corpus.split('\n').length;
    console.info(`parser baseline: ${((ms / corpus.length) * MB).toFixed(1)} ms/MB on the seed`);
  });

  it.each(hostile)('$name: no throw, bounded time and memory, every line accounted for', ({ name, text }) => {
    const input = text();
    const lines = input.split('\n').length;
    const bound = K * (msPerByte * input.length + msPerLine * lines) + 100;
    const before = liveHeap();
    const started = performance.now();
    const stats = newParseStats();
    const events = parseText(input, stats);
    const ms = performance.now() - started;
    const retained = liveHeap() - before;
    console.info(
      `${name}: ${(input.length / MB).toFixed(2)} MB, ${lines} lines, ${events.length} events, ` +
        `${ms.toFixed(0)} ms (bound ${bound.toFixed(0)} ms), retained ${(retained / MB).toFixed(1)} MB`,
    );
    expect(ms).toBeLessThan(bound);
    // The events may hold a copy of a rejected line, never a multiple of the input.
    expect(retained).toBeLessThan(3 * input.length + 4 * MB);
    expectSane(input, events, stats);
  });

  it('rejects a line whose number does not fit a double instead of sending null', () => {
    // `Number('9'.repeat(400))` is Infinity, and JSON.stringify would put null on the wire.
    const events = parseText(`KSE100 ${'9'.repeat(400)} Increased By 771.4 (1.07%)`);
    expect(events).toHaveLength(1);
    expect(events[0]!.type).toBe('rejected');
  });

  // Regression: markers were read with `new Date` alone, which takes "not-a-time-12" as 2001-12-01.
  it('reports every @@ marker whose time is not ISO-8601, and keeps its frame', () => {
    const warnings: unknown[] = [];
    const log = pino(
      { level: 'warn' },
      new Writable({
        write: (chunk: Buffer, _enc, done) => {
          warnings.push(JSON.parse(chunk.toString()));
          done();
        },
      }),
    );
    const text = Array.from(
      { length: 5000 },
      (_, i) => `@@ not-a-time-${i}\n${seedLines[i % seedLines.length]}`,
    ).join('\n');
    const frames = splitFrames(text, 'hostile.txt', log);
    expect(frames).toHaveLength(5000);
    expect(frames.every((f) => f.capturedAt === undefined)).toBe(true);
    expect(warnings).toHaveLength(5000);
  });

  it('never throws on random text, feed-like or not, and accounts for every line', () => {
    const mutatedLine = fc
      .tuple(fc.constantFrom(...seedLines), fc.nat(), fc.string({ unit: 'binary', maxLength: 8 }))
      .map(
        ([line, at, insert]) =>
          line.slice(0, at % (line.length + 1)) + insert + line.slice(at % (line.length + 1)),
      );
    const line = fc.oneof(
      fc.constantFrom(...seedLines),
      mutatedLine,
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.constantFrom('', '@@', '@@ 2023-11-09T04:31:00.000Z', 'Comments', 'SEOUL:', 'A: b', '\u00a0\t'),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 60 }), fc.constantFrom('\n', '\r\n'), (parts, eol) => {
        const text = parts.join(eol);
        const stats = newParseStats();
        expectSane(text, parseText(text, stats), stats);
      }),
      { numRuns: 2000 },
    );
  });

  it('splits any bytes into the same lines however the chunks cut them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (bytes, cuts) => {
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...points].map((p, i) => bytes.subarray(p, points[i] ?? bytes.length));
          const lines = await lastValueFrom(from(chunks).pipe(splitLines(), toArray()));
          const whole = bytes.toString('utf8').split('\n');
          if (whole.at(-1) === '') whole.pop();
          expect(lines).toEqual(whole.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
