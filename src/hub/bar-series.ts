import type { Bar, BarInterval } from '../protocol/messages.ts';
import { BAR_NUMBERS, readBar, writeBar } from '../bars/bar-row.ts';
import { Rows } from '../bars/rows.ts';

// A bar in its series: its numbers (see bar-row.ts), then its start (ms) and the seq of the
// event that last changed it.
const START = BAR_NUMBERS;
const SEQ = BAR_NUMBERS + 1;
const WIDTH = BAR_NUMBERS + 2;

/** One trading day of bars: each symbol's series, one slot per interval in `BAR_INTERVALS` order. */
export interface Day {
  symbols: Map<string, (BarSeries | undefined)[]>;
  /** The greatest of its series' seqs: a resume skips the day when it is not after `since`. */
  lastSeq: number;
}

/**
 * The bars of one symbol and interval on one trading day, in start order, as a row of numbers
 * each (`Rows`): a new bar (every symbol's, every minute) is a few writes, where an
 * object per bar would be an allocation that lives for days and a pointer from an old list to a
 * young object for the collector to track. Bars leave only as copies (`bar`).
 */
export class BarSeries {
  /** The greatest of the bars' seqs: a resume skips the series when it is not after `since`. */
  lastSeq = 0;
  // Most series are short (a day holds one 1d bar, seven 1h bars): they start with room for four.
  private readonly rows = new Rows(WIDTH, 4);

  constructor(
    readonly day: Day,
    readonly symbol: string,
    readonly interval: BarInterval,
  ) {}

  /** How many bars it holds. */
  get count(): number {
    return this.rows.count;
  }

  startAt(i: number): number {
    return this.rows.data[i * WIDTH + START]!;
  }

  seqAt(i: number): number {
    return this.rows.data[i * WIDTH + SEQ]!;
  }

  /** The index of the bar that starts at `start` (ms), or of the last one before it (-1: none). */
  find(start: number): number {
    let i = this.count - 1;
    while (i >= 0 && this.startAt(i) > start) i--;
    return i;
  }

  /** Holds `bar`, starting at `start` (ms), in its place. */
  put(bar: Bar, start: number, seq: number): void {
    let i = this.find(start);
    if (i < 0 || this.startAt(i) !== start) this.rows.insert((i += 1));
    writeBar(this.rows.data, i * WIDTH, bar);
    this.rows.data[i * WIDTH + START] = start;
    this.noteSeq(i, seq);
  }

  /** Takes the numbers `row` holds at `o` (see bar-row.ts) into the bar at `i`, changed by `seq`. */
  take(i: number, row: Float64Array, o: number, seq: number): void {
    const h = i * WIDTH;
    const nums = this.rows.data;
    for (let k = 0; k < BAR_NUMBERS; k++) nums[h + k] = row[o + k]!;
    this.noteSeq(i, seq);
  }

  /** Notes that the event `seq` changed the bar at `i`. */
  noteSeq(i: number, seq: number): void {
    this.rows.data[i * WIDTH + SEQ] = seq;
    if (seq > this.lastSeq) this.lastSeq = seq;
    if (seq > this.day.lastSeq) this.day.lastSeq = seq;
  }

  /** The bar at `i` as a value of its own; `iso` makes its start's text. */
  bar(i: number, iso: (ms: number) => string): Bar {
    return readBar(this.rows.data, i * WIDTH, this.symbol, this.interval, iso(this.startAt(i)));
  }
}
