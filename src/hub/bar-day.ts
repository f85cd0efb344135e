import type { Bar, BarInterval } from '../protocol/messages.ts';
import { BAR_NUMBERS, readBar, writeBar } from '../bars/bar-row.ts';

// A bar in the day's log: its numbers (see bar-row.ts), then its start (ms), the seq of the
// event that last changed it, its series (which symbol and interval, as the bar store numbers
// them) and the place of the series' bar held before it (-1: none).
const START = BAR_NUMBERS;
const SEQ = BAR_NUMBERS + 1;
const SERIES = BAR_NUMBERS + 2;
const PREV = BAR_NUMBERS + 3;
const WIDTH = BAR_NUMBERS + 4;
// The log grows by chunks of this many bars (a power of two): nothing is copied as a day fills.
const CHUNK_BITS = 10;
const CHUNK = 1 << CHUNK_BITS;

/**
 * One trading day's bars, each symbol's and interval's (a series) but the latest of each,
 * which the bar store keeps in its rows until a later bar replaces it and it comes here. Every
 * series' bar of a minute comes within the few frames after it ends, so they are appended one
 * after another to the log's end, memory just written; a series is a chain through the log
 * from its newest bar back. Bars are numbers in typed arrays: a day of them is no objects for
 * the collector to trace. They leave only as copies (`bar`).
 */
export class BarDay {
  /** The greatest of the bars' seqs: a resume skips the day when it is not after `since`. */
  lastSeq = 0;
  /** How many bars the log holds. */
  count = 0;
  /**
   * How many times a bar already in the log changed (a put or a restamp): what was copied of the
   * log before then (the bus's copy in Redis) is no longer the log. Appends do not count.
   */
  revisions = 0;
  private readonly chunks: Float64Array[] = [];
  /** Each series' newest bar in the log and how many it has, by series number; none: undefined. */
  private readonly heads: number[] = [];
  private readonly counts: number[] = [];
  /** Whether a bar came after a later one of its series: then a series is sorted when read. */
  private late = false;
  private scratch = new Int32Array(64);

  /** `startMs`: where the day begins (ms). */
  constructor(readonly startMs: number) {}

  /** Appends a bar of `series` starting at `start`, its numbers to come; returns its place. */
  private add(series: number, start: number, seq: number): number {
    const i = this.count++;
    if (i >>> CHUNK_BITS === this.chunks.length) this.chunks.push(new Float64Array(CHUNK * WIDTH));
    const chunk = this.chunks[i >>> CHUNK_BITS]!;
    const o = (i & (CHUNK - 1)) * WIDTH;
    chunk[o + START] = start;
    chunk[o + SERIES] = series;
    chunk[o + PREV] = this.heads[series] ?? -1;
    this.heads[series] = i;
    this.counts[series] = (this.counts[series] ?? 0) + 1;
    this.noteSeq(i, seq);
    return i;
  }

  /**
   * Appends the bar of `series` whose numbers `row` holds at `o` (see bar-row.ts): the latest
   * of its series so far, which a later one replaced, so its chain stays in start order.
   */
  append(series: number, row: Float64Array, o: number, start: number, seq: number): void {
    const i = this.add(series, start, seq);
    const chunk = this.chunks[i >>> CHUNK_BITS]!;
    chunk.set(row.subarray(o, o + BAR_NUMBERS), (i & (CHUNK - 1)) * WIDTH);
  }

  /** Holds `bar` of `series`, starting at `start` (ms): in place of the one with its start, if held. */
  put(series: number, bar: Bar, start: number, seq: number): void {
    let i = this.find(series, start);
    if (i >= 0) this.restamp(i, seq);
    else {
      const head = this.heads[series] ?? -1;
      if (head >= 0 && this.startAt(head) > start) this.late = true;
      i = this.add(series, start, seq);
    }
    writeBar(this.chunks[i >>> CHUNK_BITS]!, (i & (CHUNK - 1)) * WIDTH, bar);
  }

  /** The place of `series`' bar that starts at `start` (ms); -1: none held. */
  find(series: number, start: number): number {
    let i = this.heads[series] ?? -1;
    while (i >= 0 && this.startAt(i) !== start) i = this.at(i, PREV);
    return i;
  }

  /**
   * The places of `series`' bars, in start order: a view of one array the day reuses, good
   * until its next call.
   */
  ofSeries(series: number): Int32Array {
    const n = this.counts[series] ?? 0;
    if (this.scratch.length < n) this.scratch = new Int32Array(2 * n);
    const places = this.scratch.subarray(0, n);
    // The chain runs newest first, which is latest first unless a bar was put late.
    for (let i = this.heads[series] ?? -1, k = n - 1; i >= 0; i = this.at(i, PREV), k--) places[k] = i;
    if (this.late) places.sort((x, y) => this.startAt(x) - this.startAt(y));
    return places;
  }

  /**
   * The places of the bars changed after `since`, grouped by series, each group in start order:
   * series `s`'s are at `places[first[s]]` up to `places[first[s + 1]]`. Two passes along the
   * log, where a walk of every chain would visit it all in scattered order.
   */
  changedAfter(since: number, seriesCount: number): { places: Int32Array; first: Int32Array } {
    const first = new Int32Array(seriesCount + 1);
    this.eachChanged(since, (_i, series) => first[series + 1]!++);
    for (let s = 0; s < seriesCount; s++) first[s + 1]! += first[s]!;
    const next = first.slice(0, seriesCount);
    const places = new Int32Array(first[seriesCount]!);
    this.eachChanged(since, (i, series) => (places[next[series]!++] = i));
    if (this.late)
      for (let s = 0; s < seriesCount; s++)
        places.subarray(first[s], first[s + 1]).sort((x, y) => this.startAt(x) - this.startAt(y));
    return { places, first };
  }

  /** Calls `visit` with the place and series of each bar changed after `since`, in log order. */
  private eachChanged(since: number, visit: (i: number, series: number) => void): void {
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      const n = Math.min(CHUNK, this.count - c * CHUNK);
      for (let k = 0, o = 0; k < n; k++, o += WIDTH)
        if (chunk[o + SEQ]! > since) visit(c * CHUNK + k, chunk[o + SERIES]!);
    }
  }

  startAt(i: number): number {
    return this.at(i, START);
  }

  seqAt(i: number): number {
    return this.at(i, SEQ);
  }

  seriesAt(i: number): number {
    return this.at(i, SERIES);
  }

  /** Notes that the event `seq` changed the bar already held at `i`. */
  restamp(i: number, seq: number): void {
    this.revisions++;
    this.noteSeq(i, seq);
  }

  private noteSeq(i: number, seq: number): void {
    this.chunks[i >>> CHUNK_BITS]![(i & (CHUNK - 1)) * WIDTH + SEQ] = seq;
    if (seq > this.lastSeq) this.lastSeq = seq;
  }

  /** The bar at `i` as a value of its own; `iso` makes its start's text. */
  bar(i: number, symbol: string, interval: BarInterval, iso: (ms: number) => string): Bar {
    return readBar(
      this.chunks[i >>> CHUNK_BITS]!,
      (i & (CHUNK - 1)) * WIDTH,
      symbol,
      interval,
      iso(this.startAt(i)),
    );
  }

  private at(i: number, field: number): number {
    return this.chunks[i >>> CHUNK_BITS]![(i & (CHUNK - 1)) * WIDTH + field]!;
  }
}
