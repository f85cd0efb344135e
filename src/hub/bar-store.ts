import { BAR_INTERVALS, type Bar, type BarInterval } from '../protocol/messages.ts';
import { dayStart, tradingDay } from '../bars/karachi-time.ts';
import { BAR_NUMBERS, CLOSE, CLOSED, HIGH, LOW, readBar, UPDATES, writeBar } from '../bars/bar-row.ts';
import { barStart, INTERVAL_MS } from '../bars/intervals.ts';
import { Rows } from '../bars/rows.ts';
import { BarSeries, type Day } from './bar-series.ts';

/** Which bars a query wants. */
export interface BarQuery {
  interval: BarInterval;
  symbol?: (symbol: string) => boolean;
  /** ISO instants: bars starting in [from, to); `from` defaults to the latest trading day's start. */
  from?: string;
  to?: string;
}

// A symbol's latest bar of an interval in its row: its numbers (see bar-row.ts), then its start
// and end (ms; NaN for none), the seq that last changed it, whether its series' copy has yet to
// take them (1) or has (0), and (read in the first slot, the 1m bar's, only) how many of its
// updates the later slots hold (see `absorb`). A row holds every interval, one slot after another.
const START = BAR_NUMBERS;
const END = BAR_NUMBERS + 1;
const SEQ = BAR_NUMBERS + 2;
const UNSETTLED = BAR_NUMBERS + 3;
const ABSORBED = BAR_NUMBERS + 4;
const FIELDS = BAR_NUMBERS + 5;
const ROW = BAR_INTERVALS.length * FIELDS;

/** Revises the bar at `o` in `row` with a quote at `price` of the event `seq`. */
const revise = (row: Float64Array, o: number, price: number, seq: number): void => {
  if (price > row[o + HIGH]!) row[o + HIGH] = price;
  if (price < row[o + LOW]!) row[o + LOW] = price;
  row[o + CLOSE] = price;
  row[o + UPDATES]!++;
  row[o + SEQ] = seq;
  row[o + UNSETTLED] = 1;
};

const INTERVAL_SLOT = new Map<BarInterval, number>(BAR_INTERVALS.map((interval, i) => [interval, i]));

const NONE: readonly Bar[] = [];

/**
 * The bars of the last `days` trading days (Asia/Karachi dates the bars start on), by day,
 * then symbol and interval, each list in start order, and the fold that makes them: every
 * quote event folds into its symbol's latest bar of each interval (`fold`), so every hub
 * (ingest, edge, a restart reading its journal) makes the same bars from the same events, and
 * a bar's seq is that of the last event that changed it. Closes are events of their own, which
 * the hub that reads the feed's clock stamps (`closeDue`) and every hub puts. A bar replaces
 * the one with its start, so only the latest version of each is held: a resume reads the bars
 * changed after its position from here, not from history.
 */
export class BarStore {
  private readonly byDay = new Map<string, Day>();
  /**
   * Where each symbol's row starts: its latest bar of each interval, side by side. Every fold
   * revises these, found here without working out the day, and written into the row without
   * touching its series or its day (cold memory).
   */
  private readonly rowOf = new Map<string, number>();
  private readonly rows = new Rows(BAR_INTERVALS.length * FIELDS);
  /** The series each latest bar is the last of, by its place in `rows` over `FIELDS`. */
  private seriesOf: (BarSeries | undefined)[] = [];
  /** Whether a put or fold wrote a row since the series last took them up. */
  private unsettled = false;
  /** The earliest end of a latest bar still open: `closeDue` looks only once the clock passes it. */
  private nextEnd = Infinity;
  /** Each interval's latest start as text and in ms: nearly every bar has it. */
  private readonly startText = BAR_INTERVALS.map(() => '');
  private readonly startMs = BAR_INTERVALS.map(() => NaN);
  // Every symbol's bars share a few starts: their day is worked out once per start, and their
  // text is made once per start when read.
  private readonly dayOf = new Map<string, string>();
  private readonly isoOf = new Map<number, string>();

  constructor(private readonly days: number) {}

  /** Holds the bars one event (`seq`) changed; a bar of a new day beyond the limit drops the oldest day. */
  put(bars: readonly Bar[], seq: number): void {
    for (let k = 0; k < bars.length; k++) {
      const bar = bars[k]!;
      const slot = INTERVAL_SLOT.get(bar.interval)!;
      const offset = this.offsetOf(bar.symbol);
      this.absorb(offset);
      const o = offset + slot * FIELDS;
      const start = this.startOf(slot, bar.start);
      if (this.rows.data[o + START] === start) {
        this.write(o, bar, seq, 1);
        this.unsettled = true;
      } else this.placeLatest(o, bar, start, seq);
    }
  }

  /**
   * Folds a quote of `symbol` at `price`, observed at `ms` (feed time), made by the event `seq`,
   * into its latest bar of every interval: a quote in a bar's span revises it, a later one opens
   * the next bar. A quote older than a latest bar (out of order) leaves it alone. Prices are
   * picked, never computed, so they stay exact.
   */
  fold(symbol: string, price: number, ms: number, seq: number): void {
    // A quote with no time to place it in (none the parser makes) has no bar to go to.
    if (Number.isNaN(ms)) return;
    const offset = this.offsetOf(symbol);
    this.unsettled = true;
    const row = this.rows.data;
    // Nearly every quote falls in its symbol's 1m bar, and so in the latest bar of every later
    // interval (they nest: each length divides the next, all aligned alike). Only the 1m bar is
    // revised; the later ones take its numbers when read or when it ends (`absorb`), so a quote
    // touches one slot of the row, not five.
    if (ms >= row[offset + START]! && ms < row[offset + END]!) {
      revise(row, offset, price, seq);
      return;
    }
    this.absorb(offset);
    for (let slot = 0, o = offset; slot < BAR_INTERVALS.length; slot++, o += FIELDS) {
      // A missing bar's NaN start and end fail both tests: the quote opens one.
      if (ms < row[o + START]!) continue;
      if (ms < row[o + END]!) {
        revise(row, o, price, seq);
        continue;
      }
      const interval = BAR_INTERVALS[slot]!;
      const start = barStart(interval, ms);
      const text = this.textOf(slot, start);
      const bar = {
        symbol,
        interval,
        start: text,
        open: price,
        high: price,
        low: price,
        close: price,
        updates: 1,
        closed: false,
      };
      this.placeLatest(o, bar, start, seq);
    }
  }

  /**
   * The latest bars still open whose end the feed's clock (`ms`) has reached, as closed: the
   * close event the hub stamps. They are held closed once put.
   */
  closeDue(ms: number): readonly Bar[] {
    if (!(ms >= this.nextEnd)) return NONE;
    const closed: Bar[] = [];
    const row = this.rows.data;
    let next = Infinity;
    for (const [symbol, offset] of this.rowOf) {
      this.absorb(offset);
      for (let slot = 0, o = offset; slot < BAR_INTERVALS.length; slot++, o += FIELDS) {
        // A missing bar's NaN end fails both tests.
        if (row[o + CLOSED] === 1) continue;
        if (row[o + END]! <= ms) {
          const bar = this.bar(symbol, slot, o);
          bar.closed = true;
          closed.push(bar);
        } else if (row[o + END]! < next) next = row[o + END]!;
      }
    }
    this.nextEnd = next;
    return closed;
  }

  /** `symbol`'s latest bar of `interval` as it is now, if it has one. */
  latestBar(symbol: string, interval: BarInterval): Bar | undefined {
    const offset = this.rowOf.get(symbol);
    if (offset === undefined) return undefined;
    this.absorb(offset);
    const slot = INTERVAL_SLOT.get(interval)!;
    const o = offset + slot * FIELDS;
    return Number.isNaN(this.rows.data[o + START]) ? undefined : this.bar(symbol, slot, o);
  }

  /** The bar whose numbers the row holds at `o`, as a value of its own. */
  private bar(symbol: string, slot: number, o: number): Bar {
    const row = this.rows.data;
    return readBar(row, o, symbol, BAR_INTERVALS[slot]!, this.textOf(slot, row[o + START]!));
  }

  /** Holds `bar`, which starts at `start` (ms), and makes it the latest in its row at `o` unless a later one is. */
  private placeLatest(o: number, bar: Bar, start: number, seq: number): void {
    // The latest bar so far takes its row's numbers while it is still its series' last.
    this.settle(o);
    const series = this.place(bar, start, seq);
    if (!series || series.startAt(series.count - 1) !== start) return;
    this.seriesOf[o / FIELDS] = series;
    const row = this.rows.data;
    row[o + START] = start;
    row[o + END] = start + INTERVAL_MS[bar.interval];
    this.write(o, bar, seq, 0);
  }

  /** `ms`, a bar's start, as an ISO instant. */
  private readonly iso = (ms: number): string => {
    let text = this.isoOf.get(ms);
    if (text === undefined) {
      if (this.isoOf.size > 10_000) this.isoOf.clear();
      this.isoOf.set(ms, (text = new Date(ms).toISOString()));
    }
    return text;
  };

  private offsetOf(symbol: string): number {
    let offset = this.rowOf.get(symbol);
    if (offset === undefined) this.rowOf.set(symbol, (offset = this.rows.add()));
    return offset;
  }

  /** `text`, the start of a bar of interval `slot`, in ms. */
  private startOf(slot: number, text: string): number {
    if (text !== this.startText[slot]) {
      this.startText[slot] = text;
      this.startMs[slot] = Date.parse(text);
    }
    return this.startMs[slot]!;
  }

  /** `ms`, the start of a bar of interval `slot`, as an ISO instant. */
  private textOf(slot: number, ms: number): string {
    if (ms !== this.startMs[slot]) {
      this.startMs[slot] = ms;
      this.startText[slot] = new Date(ms).toISOString();
    }
    return this.startText[slot]!;
  }

  /** Brings the later slots of the row at `offset` up to its 1m bar's updates they lack. */
  private absorb(offset: number): void {
    const row = this.rows.data;
    const added = row[offset + UPDATES]! - row[offset + ABSORBED]!;
    // NaN (no 1m bar) or 0: nothing to take.
    if (!(added > 0)) return;
    const start = row[offset + START]!;
    for (let o = offset + FIELDS; o < offset + ROW; o += FIELDS) {
      if (!(start >= row[o + START]! && start < row[o + END]!)) continue;
      if (row[offset + HIGH]! > row[o + HIGH]!) row[o + HIGH] = row[offset + HIGH]!;
      if (row[offset + LOW]! < row[o + LOW]!) row[o + LOW] = row[offset + LOW]!;
      row[o + CLOSE] = row[offset + CLOSE]!;
      row[o + UPDATES]! += added;
      row[o + SEQ] = row[offset + SEQ]!;
      row[o + UNSETTLED] = 1;
    }
    row[offset + ABSORBED] = row[offset + UPDATES]!;
  }

  /** Writes `bar`, every update of it accounted for in the later slots, at `o`. */
  private write(o: number, bar: Bar, seq: number, unsettled: 0 | 1): void {
    const row = this.rows.data;
    writeBar(row, o, bar);
    row[o + SEQ] = seq;
    row[o + UNSETTLED] = unsettled;
    row[o + ABSORBED] = bar.updates;
    if (!bar.closed && row[o + END]! < this.nextEnd) this.nextEnd = row[o + END]!;
  }

  /** Brings the series' copy of the latest bar at `o` in `rows` (its last bar) up to its row. */
  private settle(o: number): void {
    const series = this.seriesOf[o / FIELDS];
    if (series) this.absorb(o - (o % ROW));
    const row = this.rows.data;
    if (!series || row[o + UNSETTLED] !== 1) return;
    series.take(series.count - 1, row, o, row[o + SEQ]!);
    row[o + UNSETTLED] = 0;
  }

  /** Brings every series' copy of a latest bar up to its row: before anything reads the series. */
  private settleAll(): void {
    if (!this.unsettled) return;
    for (let i = 0; i < this.seriesOf.length; i++) this.settle(i * FIELDS);
    this.unsettled = false;
  }

  /** Holds `bar`, starting at `start` (ms), in its day's series; returns the series. */
  private place(bar: Bar, start: number, seq: number): BarSeries | undefined {
    const day = this.dayFor(bar.start, true);
    if (!day) return undefined;
    const slot = INTERVAL_SLOT.get(bar.interval)!;
    let slots = day.symbols.get(bar.symbol);
    if (!slots) day.symbols.set(bar.symbol, (slots = new Array<BarSeries | undefined>(BAR_INTERVALS.length)));
    const series = (slots[slot] ??= new BarSeries(day, bar.symbol, bar.interval));
    series.put(bar, start, seq);
    return series;
  }

  /**
   * Notes that the event `seq` changed the held bar with `bar`'s symbol, interval and start,
   * without replacing it (a restored state's history names which events changed which bars).
   */
  touch(bar: Bar, seq: number): void {
    this.settleAll();
    const day = this.dayFor(bar.start, false);
    const series = day?.symbols.get(bar.symbol)?.[INTERVAL_SLOT.get(bar.interval)!];
    if (!series) return;
    const start = Date.parse(bar.start);
    const i = series.find(start);
    if (i >= 0 && series.startAt(i) === start && series.seqAt(i) < seq) series.noteSeq(i, seq);
  }

  private dayFor(start: string, create: boolean): Day | undefined {
    let name = this.dayOf.get(start);
    if (name === undefined) {
      if (this.dayOf.size > 10_000) this.dayOf.clear();
      this.dayOf.set(start, (name = tradingDay(Date.parse(start))));
    }
    let day = this.byDay.get(name);
    if (!day && create) {
      this.byDay.set(name, (day = { symbols: new Map(), lastSeq: 0 }));
      this.prune();
      if (!this.byDay.has(name)) return undefined;
    }
    return day;
  }

  private prune(): void {
    const held = [...this.byDay.keys()].sort();
    const gone = new Set<Day>();
    for (const name of held.slice(0, Math.max(0, held.length - this.days))) {
      gone.add(this.byDay.get(name)!);
      this.byDay.delete(name);
    }
    if (gone.size === 0) return;
    // A latest bar of a day dropped is no one's to revise.
    this.seriesOf.forEach((series, i) => {
      if (series && gone.has(series.day)) {
        this.seriesOf[i] = undefined;
        this.rows.data.fill(NaN, i * FIELDS, (i + 1) * FIELDS);
      }
    });
  }

  /** The latest trading day held, if any. */
  get latestDay(): string | undefined {
    let latest: string | undefined;
    for (const day of this.byDay.keys()) if (latest === undefined || day > latest) latest = day;
    return latest;
  }

  /** The bars a query asks for, ordered by symbol, then start. */
  query({ interval, symbol = () => true, from, to }: BarQuery): Bar[] {
    const latest = this.latestDay;
    if (latest === undefined) return [];
    this.settleAll();
    const since = from === undefined ? dayStart(Date.parse(`${latest}T12:00:00+05:00`)) : Date.parse(from);
    const until = to === undefined ? Infinity : Date.parse(to);
    const slot = INTERVAL_SLOT.get(interval)!;
    const out: Bar[] = [];
    for (const day of this.byDay.values())
      for (const [name, slots] of day.symbols) {
        const series = slots[slot];
        if (!series || !symbol(name)) continue;
        for (let i = 0; i < series.count; i++) {
          const start = series.startAt(i);
          if (start >= since && start < until) out.push(series.bar(i, this.iso));
        }
      }
    return out.sort((a, b) =>
      a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.start < b.start ? -1 : 1,
    );
  }

  /**
   * Calls `visit` with each bar changed by an event after `since` that `wants` accepts, and the
   * seq of the event that last changed it. Bars one event changed share its seq, so a subscriber
   * at `since` gets every bar it has not seen the latest version of, in no particular order.
   */
  changedSince(
    since: number,
    wants: (symbol: string, interval: BarInterval) => boolean,
    visit: (bar: Bar, seq: number) => void,
  ): void {
    this.settleAll();
    for (const day of this.byDay.values()) {
      if (day.lastSeq <= since) continue;
      for (const [name, slots] of day.symbols)
        slots.forEach((series, slot) => {
          if (!series || series.lastSeq <= since || !wants(name, BAR_INTERVALS[slot]!)) return;
          for (let i = 0; i < series.count; i++)
            if (series.seqAt(i) > since) visit(series.bar(i, this.iso), series.seqAt(i));
        });
    }
  }

  /**
   * Every bar held, oldest day first, with the seq that last changed each: what persistence and
   * the bus carry. Copies: the state file is written over several turns, while events go on.
   */
  export(): { bars: Bar[]; seqs: number[] } {
    this.settleAll();
    const bars: Bar[] = [];
    const seqs: number[] = [];
    for (const name of [...this.byDay.keys()].sort())
      for (const slots of this.byDay.get(name)!.symbols.values())
        for (const series of slots)
          if (series)
            for (let i = 0; i < series.count; i++) {
              bars.push(series.bar(i, this.iso));
              seqs.push(series.seqAt(i));
            }
    return { bars, seqs };
  }

  /** Every bar held, oldest day first. */
  all(): Bar[] {
    return this.export().bars;
  }

  clear(): void {
    this.byDay.clear();
    this.rowOf.clear();
    this.rows.clear();
    this.seriesOf = [];
    this.unsettled = false;
    this.nextEnd = Infinity;
  }
}
