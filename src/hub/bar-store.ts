import { BAR_INTERVALS, type Bar, type BarInterval, type HubMessage } from '../protocol/messages.ts';
import { DAY_MS, dayStart, tradingDay } from '../bars/karachi-time.ts';
import { BAR_NUMBERS, CLOSE, CLOSED, HIGH, LOW, OPEN, readBar, UPDATES, writeBar } from '../bars/bar-row.ts';
import { barStart, INTERVAL_MS } from '../bars/intervals.ts';
import { Rows } from '../bars/rows.ts';
import { BarDay } from './bar-day.ts';

/** A day's log, as `BarStore.logs` describes it. */
export interface BarLogMark {
  /** The trading day (`YYYY-MM-DD`, Asia/Karachi). */
  day: string;
  count: number;
  revisions: number;
}

/** What a copy of the bars elsewhere reads them by (see `Hub.barCopy`). */
export type BarCopySource = Pick<BarStore, 'logs' | 'logBars' | 'latestBars' | 'changedSince'>;

/** Which bars a query wants. */
export interface BarQuery {
  interval: BarInterval;
  symbol?: (symbol: string) => boolean;
  /** ISO instants: bars starting in [from, to); `from` defaults to the latest trading day's start. */
  from?: string;
  to?: string;
  /** At most this many bars (the first ones in the answer's order), so the work a query does is bounded. */
  limit?: number;
}

// A symbol's latest bar of an interval in its row: its numbers (see bar-row.ts), then its start
// and end (ms; NaN for none), the seq that last changed it and (read in the first slot, the 1m
// bar's, only) how many of its updates the later slots hold (see `absorb`). A row holds every
// interval, one slot after another; a slot's place over `FIELDS` numbers its series in a day.
const START = BAR_NUMBERS;
const END = BAR_NUMBERS + 1;
const SEQ = BAR_NUMBERS + 2;
const ABSORBED = BAR_NUMBERS + 3;
const FIELDS = BAR_NUMBERS + 4;
const ROW = BAR_INTERVALS.length * FIELDS;

/** Revises the bar at `o` in `row` with a quote at `price` of the event `seq`. */
const revise = (row: Float64Array, o: number, price: number, seq: number): void => {
  if (price > row[o + HIGH]!) row[o + HIGH] = price;
  if (price < row[o + LOW]!) row[o + LOW] = price;
  row[o + CLOSE] = price;
  row[o + UPDATES]!++;
  row[o + SEQ] = seq;
};

/** Opens a bar at `o` in `row` with a quote at `price` of the event `seq`. */
const open = (row: Float64Array, o: number, price: number, seq: number): void => {
  row[o + OPEN] = row[o + HIGH] = row[o + LOW] = row[o + CLOSE] = price;
  row[o + UPDATES] = 1;
  row[o + CLOSED] = 0;
  row[o + SEQ] = seq;
  row[o + ABSORBED] = 1;
};

const INTERVAL_SLOT = new Map<BarInterval, number>(BAR_INTERVALS.map((interval, i) => [interval, i]));

const NONE: readonly Bar[] = [];
const NO_CHANGE = { places: new Int32Array(0), first: new Int32Array(0) };

/**
 * The bars of the last `days` trading days (Asia/Karachi dates the bars start on), and the fold
 * that makes them: every quote event folds into its symbol's latest bar of each interval
 * (`fold`), so every hub (ingest, edge, a restart reading its journal) makes the same bars from
 * the same events, and a bar's seq is that of the last event that changed it. Closes are events
 * of their own, which the hub that reads the feed's clock stamps (`closeDue`) and every hub puts.
 * A bar replaces the one with its start, so only the latest version of each is held: a resume
 * reads the bars changed after its position from here, not from history.
 *
 * Each symbol's latest bar of every interval is in its row, which every quote revises; a later
 * bar sends it to its day's log (`BarDay`), where nothing revises it but a put.
 */
export class BarStore {
  private readonly byDay = new Map<string, BarDay>();
  /** Where each symbol's row starts, and the symbol of each row. */
  private readonly rowOf = new Map<string, number>();
  private readonly symbols: string[] = [];
  private readonly rows = new Rows(ROW);
  /** The earliest end of a latest bar still open: `closeDue` looks only once the clock passes it. */
  private nextEnd = Infinity;
  /** Each interval's latest start as text and in ms: nearly every bar has it. */
  private readonly startText = BAR_INTERVALS.map(() => '');
  private readonly startMs = BAR_INTERVALS.map(() => NaN);
  /** The day last looked up: nearly every bar's. */
  private recent: BarDay | undefined;
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
      const row = this.rows.data;
      const latest = row[o + START]!;
      // A bar before its series' latest (a restored or replayed one) is in its day's log.
      if (start < latest) this.dayAt(start, true)?.put(o / FIELDS, bar, start, seq);
      else if (start === latest || this.replaceLatest(o, start)) {
        writeBar(row, o, bar);
        row[o + SEQ] = seq;
        row[o + ABSORBED] = bar.updates;
        if (!bar.closed && row[o + END]! < this.nextEnd) this.nextEnd = row[o + END]!;
      }
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
      if (ms < row[o + END]!) revise(row, o, price, seq);
      else if (this.replaceLatest(o, barStart(BAR_INTERVALS[slot]!, ms))) {
        open(row, o, price, seq);
        if (row[o + END]! < this.nextEnd) this.nextEnd = row[o + END]!;
      }
    }
  }

  /**
   * Sends the latest bar at `o` in `rows` (if any) to its day's log, to make room for a later
   * one that starts at `start` (ms), whose span it sets: unless `start`'s day is not held (one
   * before the last `days`), when it returns false and leaves the row as it was.
   */
  private replaceLatest(o: number, start: number): boolean {
    const day = this.dayAt(start, true);
    if (!day) return false;
    const row = this.rows.data;
    const latest = row[o + START]!;
    // The latest bar's day is nearly always the new one's; a day already dropped left no bar.
    if (!Number.isNaN(latest)) this.dayAt(latest, false)?.append(o / FIELDS, row, o, latest, row[o + SEQ]!);
    row[o + START] = start;
    row[o + END] = start + INTERVAL_MS[BAR_INTERVALS[(o % ROW) / FIELDS]!];
    return true;
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
    if (offset === undefined) {
      this.rowOf.set(symbol, (offset = this.rows.add()));
      this.symbols.push(symbol);
    }
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
    }
    row[offset + ABSORBED] = row[offset + UPDATES]!;
  }

  /**
   * Notes that the event `seq` changed the held bar with `bar`'s symbol, interval and start,
   * without replacing it (a restored state's history names which events changed which bars).
   */
  touch(bar: Bar, seq: number): void {
    const offset = this.rowOf.get(bar.symbol);
    if (offset === undefined) return;
    const o = offset + INTERVAL_SLOT.get(bar.interval)! * FIELDS;
    const start = Date.parse(bar.start);
    const row = this.rows.data;
    if (row[o + START] === start) {
      if (row[o + SEQ]! < seq) row[o + SEQ] = seq;
      return;
    }
    const day = this.dayAt(start, false);
    const i = day ? day.find(o / FIELDS, start) : -1;
    if (i >= 0 && day!.seqAt(i) < seq) day!.restamp(i, seq);
  }

  /** The day that holds bars starting at `ms`; made when `create` says, unless beyond the limit. */
  private dayAt(ms: number, create: boolean): BarDay | undefined {
    const recent = this.recent;
    if (recent && ms >= recent.startMs && ms < recent.startMs + DAY_MS) return recent;
    const name = tradingDay(ms);
    let day = this.byDay.get(name);
    if (!day && create) {
      this.byDay.set(name, (day = new BarDay(dayStart(ms))));
      this.prune();
      if (!this.byDay.has(name)) return undefined;
    }
    if (day) this.recent = day;
    return day;
  }

  private prune(): void {
    const held = [...this.byDay.keys()].sort();
    const gone = new Set<number>();
    for (const name of held.slice(0, Math.max(0, held.length - this.days))) {
      gone.add(this.byDay.get(name)!.startMs);
      this.byDay.delete(name);
    }
    if (gone.size === 0) return;
    this.recent = undefined;
    // A latest bar of a day dropped is no one's to revise.
    const row = this.rows.data;
    for (let o = 0; o < this.symbols.length * ROW; o += FIELDS)
      if (gone.has(dayStart(row[o + START]!))) row.fill(NaN, o, o + FIELDS);
  }

  /** The latest trading day held, if any. */
  get latestDay(): string | undefined {
    let latest: string | undefined;
    for (const day of this.byDay.keys()) if (latest === undefined || day > latest) latest = day;
    return latest;
  }

  /** The bars a query asks for, ordered by symbol, then start. */
  query({ interval, symbol = () => true, from, to, limit = Infinity }: BarQuery): Bar[] {
    const latest = this.latestDay;
    if (latest === undefined) return [];
    const since = from === undefined ? dayStart(Date.parse(`${latest}T12:00:00+05:00`)) : Date.parse(from);
    const until = to === undefined ? Infinity : Date.parse(to);
    const slot = INTERVAL_SLOT.get(interval)!;
    const row = this.rows.data;
    // The days that may hold a bar in range (a day's bars start within it), oldest first.
    const days = this.daysInOrder().filter((day) => day.startMs + DAY_MS > since && day.startMs < until);
    const out: Bar[] = [];
    // A series' logged bars start before its latest: in symbol order, each series is in order.
    for (const name of [...this.rowOf.keys()].sort()) {
      if (!symbol(name)) continue;
      const offset = this.rowOf.get(name)!;
      const o = offset + slot * FIELDS;
      const series = o / FIELDS;
      for (const day of days)
        for (const i of day.ofSeries(series)) {
          const start = day.startAt(i);
          if (start < since || start >= until) continue;
          if (out.length === limit) return out;
          out.push(day.bar(i, name, interval, this.iso));
        }
      this.absorb(offset);
      const start = row[o + START]!;
      if (start < since || start >= until) continue;
      if (out.length === limit) return out;
      out.push(this.bar(name, slot, o));
    }
    return out;
  }

  /** The days held, oldest first. */
  private daysInOrder(): BarDay[] {
    return [...this.byDay.values()].sort((a, b) => a.startMs - b.startMs);
  }

  /**
   * Calls `visit` with each bar changed by an event after `since` that `wants` accepts, and the
   * seq of the event that last changed it. Bars one event changed share its seq, so a subscriber
   * at `since` gets every bar it has not seen the latest version of.
   */
  changedSince(
    since: number,
    wants: (symbol: string, interval: BarInterval) => boolean,
    visit: (bar: Bar, seq: number) => void,
  ): void {
    // Each series is asked about once (0: not yet, 1: wanted, 2: not).
    const wanted = new Uint8Array(this.symbols.length * BAR_INTERVALS.length);
    const wantsSeries = (series: number): boolean => {
      if (wanted[series] === 0)
        wanted[series] = wants(seriesSymbol(this.symbols, series), seriesInterval(series)) ? 1 : 2;
      return wanted[series] === 1;
    };
    this.walk(since, wantsSeries, visit);
  }

  /**
   * Every bar held, oldest day first, with the seq that last changed each: what persistence and
   * the bus carry. Copies: the state file is written over several turns, while events go on.
   */
  export(): { bars: Bar[]; seqs: number[] } {
    const bars: Bar[] = [];
    const seqs: number[] = [];
    this.walk(
      -1,
      () => true,
      (bar, seq) => {
        bars.push(bar);
        seqs.push(seq);
      },
    );
    return { bars, seqs };
  }

  /**
   * Each held day's log as a copy of it needs to know it: how many bars it holds (a copy of the
   * first `count` stays true while `revisions` stays the same), oldest day first.
   */
  logs(): BarLogMark[] {
    return this.daysInOrder().map((day) => ({
      day: tradingDay(day.startMs),
      count: day.count,
      revisions: day.revisions,
    }));
  }

  /** The bars at places [`from`, `to`) of `day`'s log, in log order, with their seqs. */
  logBars(day: string, from: number, to: number): { bars: Bar[]; seqs: number[] } {
    const held = this.byDay.get(day);
    const bars: Bar[] = [];
    const seqs: number[] = [];
    for (let i = from; held && i < Math.min(to, held.count); i++) {
      const series = held.seriesAt(i);
      bars.push(held.bar(i, seriesSymbol(this.symbols, series), seriesInterval(series), this.iso));
      seqs.push(held.seqAt(i));
    }
    return { bars, seqs };
  }

  /** Each series' latest bar (the one no log holds yet), with its seq. */
  latestBars(): { bars: Bar[]; seqs: number[] } {
    const bars: Bar[] = [];
    const seqs: number[] = [];
    const row = this.rows.data;
    for (const [symbol, offset] of this.rowOf) {
      this.absorb(offset);
      for (let slot = 0, o = offset; slot < BAR_INTERVALS.length; slot++, o += FIELDS) {
        if (Number.isNaN(row[o + START])) continue;
        bars.push(this.bar(symbol, slot, o));
        seqs.push(row[o + SEQ]!);
      }
    }
    return { bars, seqs };
  }

  /**
   * Calls `visit` with each bar changed after `since` of the series `wants` accepts: day by day,
   * oldest first, then by symbol (as the store first saw them), interval and start, so two
   * stores that hold the same bars list them alike, and a store that puts them back in this
   * order finds each the latest so far.
   */
  private walk(
    since: number,
    wants: (series: number) => boolean,
    visit: (bar: Bar, seq: number) => void,
  ): void {
    const row = this.rows.data;
    const seriesCount = this.symbols.length * BAR_INTERVALS.length;
    for (const day of this.daysInOrder()) {
      // A day with no bar changed after `since` in its log may still hold a latest bar that was.
      const { places, first } = day.lastSeq > since ? day.changedAfter(since, seriesCount) : NO_CHANGE;
      for (let series = 0, o = 0; series < seriesCount; series++, o += FIELDS) {
        if (o % ROW === 0) this.absorb(o);
        const end = first[series + 1] ?? 0;
        const latest = row[o + SEQ]! > since && dayStart(row[o + START]!) === day.startMs;
        if ((end === (first[series] ?? 0) && !latest) || !wants(series)) continue;
        const symbol = seriesSymbol(this.symbols, series);
        for (let k = first[series] ?? 0; k < end; k++) {
          const i = places[k]!;
          visit(day.bar(i, symbol, seriesInterval(series), this.iso), day.seqAt(i));
        }
        if (latest) visit(this.bar(symbol, series % BAR_INTERVALS.length, o), row[o + SEQ]!);
      }
    }
  }

  /** Every bar held, oldest day first. */
  all(): Bar[] {
    return this.export().bars;
  }
}

/** Bars put per step of {@link barStoreSteps}: a few milliseconds of the loop. */
const BARS_PER_STEP = 10_000;

/** What a saved state holds of bars (see `HubState`). */
export interface SavedBars {
  bars?: readonly Bar[];
  /** The seq of the event that last changed each of `bars`. */
  barSeqs?: readonly number[];
  history: readonly HubMessage[];
}

/**
 * A store of `days` holding a saved state's bars, each with the seq that last changed it: saved
 * beside them, or else found in the bars events of its history (a bar that none of them changed
 * last changed at or before the history's reach, where no resume starts). `store`, when given,
 * already holds the bars before them (a bar log copy's: see `barLogSteps`). Yields every few
 * thousand bars (see steps.ts): days of bars are seconds of the loop.
 */
export function* barStoreSteps(
  days: number,
  saved: SavedBars,
  store = new BarStore(days),
): Generator<void, BarStore> {
  const { bars = [], barSeqs } = saved;
  const known = barSeqs?.length === bars.length;
  for (let i = 0; i < bars.length; i++) {
    store.put([bars[i]!], known ? barSeqs[i]! : 0);
    if (i % BARS_PER_STEP === BARS_PER_STEP - 1) yield;
  }
  if (!known)
    for (const m of saved.history) if (m.type === 'bars') for (const bar of m.bars) store.touch(bar, m.seq);
  return store;
}

/** The symbol of a series, by its number (see `FIELDS`). */
const seriesSymbol = (symbols: readonly string[], series: number): string =>
  symbols[Math.floor(series / BAR_INTERVALS.length)]!;

/** The interval of a series, by its number (see `FIELDS`). */
const seriesInterval = (series: number): BarInterval => BAR_INTERVALS[series % BAR_INTERVALS.length]!;
