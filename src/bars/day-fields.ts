import { defer, map, type OperatorFunction } from 'rxjs';
import type { DayValues } from '../protocol/messages.ts';
import type { TimedQuote } from '../diff/changes.ts';
import { tradingDay } from './karachi-time.ts';
import { subtractExact } from './minor-units.ts';

/** A quote with its trading day's values. */
export type DayQuote = TimedQuote & DayValues;

/** A symbol's values already published (after a restart): its time and day range. */
export interface DaySeed {
  symbol: string;
  ts: string;
  open?: number;
  high?: number;
  low?: number;
}

interface DayRange {
  day: string;
  open: number;
  high: number;
  low: number;
}

/** The range after `price` at `day`: a quote of a later day starts the range afresh. */
export const nextRange = (prev: DayRange | undefined, day: string, price: number): DayRange =>
  prev === undefined || prev.day !== day
    ? { day, open: price, high: price, low: price }
    : { day, open: prev.open, high: Math.max(prev.high, price), low: Math.min(prev.low, price) };

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
          ranges.set(s.symbol, { day: tradingDay(Date.parse(s.ts)), open: s.open, high: s.high, low: s.low });
      return quotes$.pipe(
        map((q): DayQuote => {
          const range = nextRange(ranges.get(q.symbol), tradingDay(Date.parse(q.ts)), q.price);
          ranges.set(q.symbol, range);
          const { open, high, low } = range;
          return { ...q, open, high, low, prevClose: subtractExact(q.price, q.change) };
        }),
      );
    });
