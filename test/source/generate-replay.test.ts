import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { INDEX_MEMBERS, generateSession } from '../../scripts/generate-replay.ts';
import type { ParsedQuote } from '../../src/parse/events.ts';
import { parseText } from '../../src/parse/parse-text.ts';
import { splitFrames } from '../../src/source/feed-file.ts';
import { BUNDLED_FEED } from '../../src/source/options.ts';
import { repoPath } from '../helpers.ts';

const seedText = readFileSync(repoPath('replay/seed.txt'), 'utf8');
const session = generateSession(seedText);
const frames = splitFrames(session, 'session');
const parsed = frames.map((f) => parseText(f.text));
const quotes = parsed.map(
  (events) => new Map(events.filter((e): e is ParsedQuote => e.type === 'quote').map((q) => [q.symbol, q])),
);
const seedQuotes = parseText(seedText).filter((e): e is ParsedQuote => e.type === 'quote');
const karachi = (d: Date) => new Date(d.getTime() + 5 * 3_600_000).toISOString().slice(11, 16);

describe('generate:replay', () => {
  it('is deterministic and is what the bundled feed holds', () => {
    expect(generateSession(seedText)).toBe(session);
    expect(BUNDLED_FEED).toBe(repoPath('replay/session.txt.gz'));
    expect(gunzipSync(readFileSync(BUNDLED_FEED)).toString('utf8')).toBe(session);
  });

  it('covers a Thursday session 09:30–15:30 Karachi, one frame every 15–60 s', () => {
    expect(frames.length).toBeGreaterThan(300);
    expect(karachi(frames[0]!.capturedAt!)).toBe('09:30');
    expect(karachi(frames.at(-1)!.capturedAt!) <= '15:30').toBe(true);
    expect(karachi(frames.at(-1)!.capturedAt!) >= '15:29').toBe(true);
    expect(frames.every((f) => f.capturedAt?.getUTCDay() === 4)).toBe(true);
    for (let i = 1; i < frames.length; i++) {
      const gap = frames[i]!.capturedAt!.getTime() - frames[i - 1]!.capturedAt!.getTime();
      expect(gap).toBeGreaterThanOrEqual(15_000);
      expect(gap).toBeLessThanOrEqual(60_000);
    }
  });

  it('has every quote line parse cleanly: no rejected and no suspect line, all 34 symbols each frame', () => {
    const flagged = parsed.flat().filter((e) => e.type === 'rejected' || (e.type === 'quote' && e.suspect));
    expect(flagged).toEqual([]);
    for (const frame of quotes)
      expect([...frame.keys()].sort()).toEqual(seedQuotes.map((q) => q.symbol).sort());
  });

  it('moves stocks in 0.01 steps within ±10% of the previous close', () => {
    for (const q of seedQuotes.filter((s) => s.kind === 'stock')) {
      const previous = Math.round((q.price - q.change) * 100);
      const prices = quotes.map((frame) => Math.round(frame.get(q.symbol)!.price * 100));
      expect(prices.every((p) => p >= Math.ceil(previous * 0.9) && p <= Math.floor(previous * 1.1))).toBe(
        true,
      );
      // Each frame's change is the price minus the same previous close.
      expect(
        quotes.every((frame) => {
          const quote = frame.get(q.symbol)!;
          return Math.round(quote.price * 100) - Math.round(quote.change * 100) === previous;
        }),
      ).toBe(true);
      expect(new Set(prices).size).toBeGreaterThan(1);
    }
  });

  it('moves each index the way its members move, frame to frame', () => {
    const stocks = seedQuotes.filter((s) => s.kind === 'stock');
    let checked = 0;
    for (const [index, members] of Object.entries(INDEX_MEMBERS)) {
      const chosen = stocks.filter((s) => members[0] === '*' || members.includes(s.symbol));
      for (let i = 1; i < quotes.length; i++) {
        // The generator weights members by previous close, so their weighted move is the sum of price moves.
        const memberMove = chosen.reduce(
          (sum, s) =>
            sum +
            Math.round(quotes[i]!.get(s.symbol)!.price * 100) -
            Math.round(quotes[i - 1]!.get(s.symbol)!.price * 100),
          0,
        );
        const indexMove = quotes[i]!.get(index)!.change - quotes[i - 1]!.get(index)!.change;
        if (indexMove !== 0) {
          expect(Math.sign(indexMove), `${index} at frame ${i}`).toBe(Math.sign(memberMove));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('brings a few dated news stories during the day, after the seed story', () => {
    const headlines = parsed.flat().filter((e) => e.type === 'headline');
    const datelines = [...new Map(headlines.map((h) => [h.id, h.dateline])).values()];
    expect(datelines[0]).toBe('SEOUL');
    expect(datelines.length).toBeGreaterThanOrEqual(4);
    expect(datelines).toEqual(expect.arrayContaining(['KARACHI', 'ISLAMABAD']));
  });
});
