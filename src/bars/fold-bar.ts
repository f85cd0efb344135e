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

/** The bar after one more quote at `price`: prices are picked, never computed, so they stay exact. */
export const addQuote = (bar: Bar, price: number): Bar => ({
  ...bar,
  high: Math.max(bar.high, price),
  low: Math.min(bar.low, price),
  close: price,
  updates: bar.updates + 1,
});

/** The bar once the feed's clock has passed its end. */
export const closeBar = (bar: Bar): Bar => ({ ...bar, closed: true });
