import type { Bar, BarInterval } from '../protocol/messages.ts';

// A bar's numbers in a row of numbers (the bar store's rows, a day's log), from where its bar
// begins. Closed is 1 or 0. Each keeps its own numbers after these.
export const OPEN = 0;
export const HIGH = 1;
export const LOW = 2;
export const CLOSE = 3;
export const UPDATES = 4;
export const CLOSED = 5;
export const BAR_NUMBERS = 6;

/** Writes `bar`'s numbers into `row` at `o`. */
export const writeBar = (row: Float64Array, o: number, bar: Bar): void => {
  row[o + OPEN] = bar.open;
  row[o + HIGH] = bar.high;
  row[o + LOW] = bar.low;
  row[o + CLOSE] = bar.close;
  row[o + UPDATES] = bar.updates;
  row[o + CLOSED] = bar.closed ? 1 : 0;
};

/** The bar whose numbers `row` holds at `o`, as a value of its own. */
export const readBar = (
  row: Float64Array,
  o: number,
  symbol: string,
  interval: BarInterval,
  start: string,
): Bar => ({
  symbol,
  interval,
  start,
  open: row[o + OPEN]!,
  high: row[o + HIGH]!,
  low: row[o + LOW]!,
  close: row[o + CLOSE]!,
  updates: row[o + UPDATES]!,
  closed: row[o + CLOSED] === 1,
});
