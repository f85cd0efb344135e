import { defer, map, type OperatorFunction } from 'rxjs';
import type { QuoteValues } from '../protocol/messages.ts';
import type { TimedQuote } from '../diff/changes.ts';
import { tradingDay } from './karachi-time.ts';
import { subtractExact } from './minor-units.ts';

/** What the diff compares of a quote, with its trading day's values, and the symbol and time. */
export type DayQuote = Pick<TimedQuote, 'symbol' | 'ts'> & QuoteValues;

/** A symbol's values already published (after a restart): its time and day range. */
export interface DaySeed {
  symbol: string;
  ts: string;
  open?: number;
  high?: number;
  low?: number;
}

/**
 * One symbol's day so far, revised in place: nearly every quote of a frame repeats its last
 * price and change, so `prevClose` is worked out again only when one of them moved.
 */
interface DayRange {
  day: string;
  open: number;
  high: number;
  low: number;
  price: number;
  change: number;
  prevClose: number;
}

const newRange = (day: string, open: number, high: number, low: number): DayRange => ({
  day,
  open,
  high,
  low,
  price: NaN,
  change: NaN,
  prevClose: NaN,
});

/** Folds `price` at `day` into `range`: a quote of a later day starts it afresh. */
const foldDay = (range: DayRange, day: string, price: number): void => {
  if (range.day !== day) {
    range.day = day;
    range.open = range.high = range.low = price;
  } else {
    if (price > range.high) range.high = price;
    if (price < range.low) range.low = price;
  }
};

/**
 * Adds the trading day's `open`, `high`, `low` and `prevClose` to each quote. The day is the
 * Asia/Karachi date of the quote's `ts` (the feed's clock), so a replay at any speed or loop
 * pass yields the same values. `seed` continues the ranges published before a restart.
 */
export const withDayFields =
  (seed: Iterable<DaySeed> = []): OperatorFunction<TimedQuote, DayQuote> =>
  (quotes$) =>
    defer(() => {
      const ranges = new Map<string, DayRange>();
      for (const s of seed)
        if (s.open !== undefined && s.high !== undefined && s.low !== undefined)
          ranges.set(s.symbol, newRange(tradingDay(Date.parse(s.ts)), s.open, s.high, s.low));
      // A frame's quotes share one `ts` string: its day is worked out once per frame.
      let lastTs = '';
      let lastDay = '';
      return quotes$.pipe(
        map((q): DayQuote => {
          if (q.ts !== lastTs) lastDay = tradingDay(Date.parse((lastTs = q.ts)));
          let range = ranges.get(q.symbol);
          if (!range) ranges.set(q.symbol, (range = newRange(lastDay, q.price, q.price, q.price)));
          else foldDay(range, lastDay, q.price);
          if (q.price !== range.price || q.change !== range.change) {
            range.price = q.price;
            range.change = q.change;
            range.prevClose = subtractExact(q.price, q.change);
          }
          // Built field by field: a spread that adds properties is far slower in V8.
          return {
            symbol: q.symbol,
            ts: q.ts,
            kind: q.kind,
            price: q.price,
            change: q.change,
            changePercent: q.changePercent,
            direction: q.direction,
            open: range.open,
            high: range.high,
            low: range.low,
            prevClose: range.prevClose,
          };
        }),
      );
    });
