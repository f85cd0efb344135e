import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { withDayFields, type DaySeed } from '../../src/bars/day-fields.ts';
import { subtractExact } from '../../src/bars/minor-units.ts';
import type { TimedQuote } from '../../src/diff/changes.ts';

const q = (price: number, change: number, ts: string, symbol = 'AIRLINK'): TimedQuote => ({
  type: 'quote',
  symbol,
  kind: 'stock',
  price,
  change,
  changePercent: 0,
  direction: change > 0 ? 'up' : change < 0 ? 'down' : 'unchanged',
  line: 1,
  ts,
});

const days = (quotes: TimedQuote[], seed?: DaySeed[]) =>
  lastValueFrom(from(quotes).pipe(withDayFields(seed), toArray())).then((out) =>
    out.map(({ open, high, low, prevClose }) => ({ open, high, low, prevClose })),
  );

describe('withDayFields', () => {
  it('tracks the open, high and low of the trading day, and prevClose as price − change', async () => {
    expect(
      await days([
        q(80.6, 1.19, '2023-11-09T04:31:00.000Z'),
        q(81.1, 1.69, '2023-11-09T05:00:00.000Z'),
        q(79.9, 0.49, '2023-11-09T06:00:00.000Z'),
      ]),
    ).toEqual([
      { open: 80.6, high: 80.6, low: 80.6, prevClose: 79.41 },
      { open: 80.6, high: 81.1, low: 80.6, prevClose: 79.41 },
      { open: 80.6, high: 81.1, low: 79.9, prevClose: 79.41 },
    ]);
  });

  it('starts a new day afresh at midnight in Asia/Karachi, not at midnight UTC', async () => {
    // 18:59 UTC is 23:59 in Karachi; 19:00 UTC is the next day there.
    expect(
      await days([
        q(10, 0, '2023-11-09T18:59:00.000Z'),
        q(12, 2, '2023-11-09T18:59:30.000Z'),
        q(11, -1, '2023-11-09T19:00:00.000Z'),
      ]),
    ).toEqual([
      { open: 10, high: 10, low: 10, prevClose: 10 },
      { open: 10, high: 12, low: 10, prevClose: 10 },
      { open: 11, high: 11, low: 11, prevClose: 12 },
    ]);
  });

  it('keeps symbols apart and goes on from a seed of the same day', async () => {
    const seed = [{ symbol: 'AIRLINK', ts: '2023-11-09T04:31:00.000Z', open: 80, high: 82, low: 79 }];
    expect(
      await days([q(81, 1, '2023-11-09T05:00:00.000Z'), q(5, 0, '2023-11-09T05:00:00.000Z', 'BOP')], seed),
    ).toEqual([
      { open: 80, high: 82, low: 79, prevClose: 80 },
      { open: 5, high: 5, low: 5, prevClose: 5 },
    ]);
  });

  it('ignores a seed from an earlier day', async () => {
    const seed = [{ symbol: 'AIRLINK', ts: '2023-11-08T04:31:00.000Z', open: 80, high: 82, low: 79 }];
    expect(await days([q(81, 1, '2023-11-09T05:00:00.000Z')], seed)).toEqual([
      { open: 81, high: 81, low: 81, prevClose: 80 },
    ]);
  });
});

describe('subtractExact', () => {
  it('subtracts in minor units where floats drift', () => {
    expect(117.85 - -0.08).not.toBe(117.93);
    expect(subtractExact(117.85, -0.08)).toBe(117.93);
    expect(subtractExact(1.1, 0.2)).toBe(0.9);
    expect(subtractExact(80.6, 1.19)).toBe(79.41);
    expect(subtractExact(44_512.345, 12.3)).toBe(44_500.045);
    expect(subtractExact(0.3, 0.1)).toBe(0.2);
  });
});
