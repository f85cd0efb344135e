import fc from 'fast-check';
import pino from 'pino';
import { lastValueFrom, from, toArray } from 'rxjs';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseText } from '../../src/parse/parse-text.ts';
import type { ParsedEvent } from '../../src/parse/events.ts';
import { newParseStats, type ParseStats } from '../../src/parse/stats.ts';
import { splitLines } from '../../src/parse/split-lines.ts';
import { splitFrames } from '../../src/source/feed-file.ts';
import { repoPath } from '../helpers.ts';
import { liveHeap } from './crowd.ts';
import { HOSTILE_TEXTS } from './hostile-texts.ts';

const seed = readFileSync(repoPath('replay/seed.txt'), 'utf8');
const seedLines = seed.split('\n').filter((l) => l.trim() !== '');

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

describe('parser under hostile input', () => {
  // Time is not asserted here: `npm run bench:parse -- --hostile` measures each input against
  // the seed's cost. A super-linear path still fails this test, by its deadline.
  it.each(HOSTILE_TEXTS)('$name: no throw, bounded memory, every line accounted for', ({ name, text }) => {
    const input = text();
    // Splitting flattens the string (`repeat` builds a rope), so its flat copy is not charged to the parser.
    const lines = input.split('\n').length;
    const before = liveHeap();
    const stats = newParseStats();
    const events = parseText(input, stats);
    const retained = liveHeap() - before;
    console.info(
      `${name}: ${(input.length / MB).toFixed(2)} MB, ${lines} lines, ${events.length} events, ` +
        `retained ${(retained / MB).toFixed(1)} MB`,
    );
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
