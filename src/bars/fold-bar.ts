import type { Bar, BarInterval } from '../protocol/messages.ts';

/** A bar's first quote. */
export const openBar = (symbol: string, interval: BarInterval, start: string, price: number): Bar => ({
  symbol,
  interval,
  start,
  open: price,
  high: price,
  low: price,
  close: price,
  updates: 1,
  closed: false,
});

/**
 * `bar` with new values, written out field by field: V8 builds a spread with overrides on a
 * slow path, and every quote change folds five bars.
 */
const revised = (
  bar: Bar,
  high: number,
  low: number,
  close: number,
  updates: number,
  closed: boolean,
): Bar => ({
  symbol: bar.symbol,
  interval: bar.interval,
  start: bar.start,
  open: bar.open,
  high,
  low,
  close,
  updates,
  closed,
});

/** The bar after one more quote at `price`: prices are picked, never computed, so they stay exact. */
export const addQuote = (bar: Bar, price: number): Bar =>
  revised(bar, Math.max(bar.high, price), Math.min(bar.low, price), price, bar.updates + 1, bar.closed);

/** The bar once the feed's clock has passed its end. */
export const closeBar = (bar: Bar): Bar => revised(bar, bar.high, bar.low, bar.close, bar.updates, true);
