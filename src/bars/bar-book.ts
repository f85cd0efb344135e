import { BAR_INTERVALS, type Bar, type BarInterval } from '../protocol/messages.ts';
import { barStart, INTERVAL_MS } from './intervals.ts';
import { BAR_NUMBERS, CLOSE, CLOSED, HIGH, LOW, OPEN, readBar, UPDATES, writeBar } from './bar-row.ts';
import { Rows } from './rows.ts';

/** Bars of one symbol that closed together. */
export interface ClosedBars {
  symbol: string;
  bars: Bar[];
}

// A symbol's row: its last price (NaN before the first), then each interval's bar.
const PRICE = 0;
const BARS = 1;
// After each bar's numbers (see bar-row.ts): its start and end (ms); how many numbers a bar takes.
const START = BAR_NUMBERS;
const END = BAR_NUMBERS + 1;
const FIELDS = BAR_NUMBERS + 2;

/**
 * The current bar of every symbol and interval: what the bars stage folds quotes into. Only the
 * latest bar of each is held; older ones live in the hub. A symbol's last price and bars are
 * one row of numbers in a shared typed array, every interval side by side: a quote revises all,
 * and one row is a few adjacent cache lines, where an object per bar would be five scattered
 * ones found through five pointers. What the book returns are new `Bar`s.
 */
export class BarBook {
  /** Where each symbol's row starts. */
  private readonly rowOf = new Map<string, number>();
  private readonly rows: Rows;
  /** The earliest end of a bar still open: the clock needs to look only once it passes this. */
  private nextEnd = Infinity;
  /**
   * Each interval's latest start, in ms and as text: nearly every bar has it, so its text is
   * made once for all symbols, and bars of one start share one string.
   */
  private readonly startMs: number[];
  private readonly startText: string[];

  constructor(
    private readonly intervals: readonly BarInterval[] = BAR_INTERVALS,
    seed: Iterable<Bar> = [],
    prices: Iterable<[string, number]> = [],
  ) {
    this.rows = new Rows(BARS + intervals.length * FIELDS);
    this.startMs = intervals.map(() => NaN);
    this.startText = intervals.map(() => '');
    for (const bar of seed) {
      const i = intervals.indexOf(bar.interval);
      if (i >= 0) this.seed(this.offsetOf(bar.symbol), i, bar);
    }
    for (const [symbol, price] of prices) {
      const offset = this.offsetOf(symbol);
      this.rows.data[offset + PRICE] = price;
    }
  }

  private offsetOf(symbol: string): number {
    let offset = this.rowOf.get(symbol);
    if (offset === undefined) {
      // A start of NaN marks an interval with no bar yet: every comparison with it is false.
      this.rowOf.set(symbol, (offset = this.rows.add()));
    }
    return offset;
  }

  private seed(offset: number, i: number, bar: Bar): void {
    const o = offset + BARS + i * FIELDS;
    const row = this.rows.data;
    row[o + START] = Date.parse(bar.start);
    row[o + END] = row[o + START]! + INTERVAL_MS[this.intervals[i]!];
    writeBar(row, o, bar);
    if (!bar.closed) this.nextEnd = Math.min(this.nextEnd, row[o + END]!);
  }

  /**
   * Folds a quote of `symbol`, observed at `ms`, into its bars; returns the bars that changed.
   * A quote that does not name its price is at the last price the book saw, and folds nothing
   * before the first. A quote older than a symbol's current bar (out of order) leaves it alone.
   * Prices are picked, never computed, so they stay exact.
   */
  quote(symbol: string, quoted: number | undefined, ms: number): Bar[] {
    const offset = this.offsetOf(symbol);
    const row = this.rows.data;
    const price = quoted ?? row[offset + PRICE]!;
    if (Number.isNaN(price)) return [];
    row[offset + PRICE] = price;
    const changed: Bar[] = [];
    for (let i = 0, o = offset + BARS; i < this.intervals.length; i++, o += FIELDS) {
      if (ms < row[o + START]!) continue;
      if (ms < row[o + END]!) {
        if (price > row[o + HIGH]!) row[o + HIGH] = price;
        if (price < row[o + LOW]!) row[o + LOW] = price;
        row[o + CLOSE] = price;
        row[o + UPDATES]!++;
      } else {
        const interval = this.intervals[i]!;
        const start = barStart(interval, ms);
        row[o + START] = start;
        row[o + END] = start + INTERVAL_MS[interval];
        row[o + OPEN] = row[o + HIGH] = row[o + LOW] = row[o + CLOSE] = price;
        row[o + UPDATES] = 1;
        row[o + CLOSED] = 0;
        if (row[o + END]! < this.nextEnd) this.nextEnd = row[o + END]!;
      }
      changed.push(this.bar(symbol, i, o));
    }
    return changed;
  }

  /** Closes every open bar whose end the feed's clock (`ms`) has reached; returns them by symbol. */
  closeDue(ms: number): ClosedBars[] {
    if (ms < this.nextEnd) return [];
    const closed: ClosedBars[] = [];
    const row = this.rows.data;
    let next = Infinity;
    for (const [symbol, offset] of this.rowOf) {
      let bars: Bar[] | undefined;
      for (let i = 0, o = offset + BARS; i < this.intervals.length; i++, o += FIELDS) {
        // A missing bar's NaN end fails both tests.
        if (row[o + CLOSED] === 1) continue;
        if (row[o + END]! <= ms) {
          row[o + CLOSED] = 1;
          (bars ??= []).push(this.bar(symbol, i, o));
        } else if (row[o + END]! < next) next = row[o + END]!;
      }
      if (bars) closed.push({ symbol, bars });
    }
    this.nextEnd = next;
    return closed;
  }

  /** The start of interval `i`'s bar at `ms`, as an ISO instant. */
  private startOf(i: number, ms: number): string {
    if (ms !== this.startMs[i]) {
      this.startMs[i] = ms;
      this.startText[i] = new Date(ms).toISOString();
    }
    return this.startText[i]!;
  }

  /** The bar of `symbol`'s interval `i`, whose numbers start at `o`, as a value of its own. */
  private bar(symbol: string, i: number, o: number): Bar {
    return readBar(
      this.rows.data,
      o,
      symbol,
      this.intervals[i]!,
      this.startOf(i, this.rows.data[o + START]!),
    );
  }
}
