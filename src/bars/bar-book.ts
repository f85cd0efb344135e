import { BAR_INTERVALS, type Bar, type BarInterval } from '../protocol/messages.ts';
import { addQuote, closeBar, openBar } from './fold-bar.ts';
import { barStart, INTERVAL_MS } from './intervals.ts';

interface Slot {
  bar: Bar;
  startMs: number;
  endMs: number;
}

/** Bars of one symbol that closed together. */
export interface ClosedBars {
  symbol: string;
  bars: Bar[];
}

/**
 * The current bar of every symbol and interval: what the bars stage folds quotes into. Only the
 * latest bar of each is held; older ones live in the hub.
 */
export class BarBook {
  /** Each symbol's slots, one per interval in `intervals` order. */
  private readonly slots = new Map<string, (Slot | undefined)[]>();
  /** The earliest end of a bar still open: the clock needs to look only once it passes this. */
  private nextEnd = Infinity;

  constructor(
    private readonly intervals: readonly BarInterval[] = BAR_INTERVALS,
    seed: Iterable<Bar> = [],
  ) {
    for (const bar of seed) {
      const i = this.intervals.indexOf(bar.interval);
      if (i >= 0) this.hold(this.slotsOf(bar.symbol), i, bar);
    }
  }

  private slotsOf(symbol: string): (Slot | undefined)[] {
    let slots = this.slots.get(symbol);
    if (!slots) this.slots.set(symbol, (slots = new Array<Slot | undefined>(this.intervals.length)));
    return slots;
  }

  private hold(slots: (Slot | undefined)[], i: number, bar: Bar): Bar {
    const startMs = Date.parse(bar.start);
    const endMs = startMs + INTERVAL_MS[bar.interval];
    slots[i] = { bar, startMs, endMs };
    if (!bar.closed) this.nextEnd = Math.min(this.nextEnd, endMs);
    return bar;
  }

  /**
   * Folds a quote of `symbol` at `price`, observed at `ms`, into its bars; returns the bars
   * that changed. A quote older than a symbol's current bar (out of order) leaves it alone.
   */
  quote(symbol: string, price: number, ms: number): Bar[] {
    const slots = this.slotsOf(symbol);
    const changed: Bar[] = [];
    for (let i = 0; i < this.intervals.length; i++) {
      const slot = slots[i];
      if (slot && ms < slot.startMs) continue;
      if (slot && ms < slot.endMs) {
        changed.push((slot.bar = addQuote(slot.bar, price)));
        continue;
      }
      const interval = this.intervals[i]!;
      const start = new Date(barStart(interval, ms)).toISOString();
      changed.push(this.hold(slots, i, openBar(symbol, interval, start, price)));
    }
    return changed;
  }

  /** Closes every open bar whose end the feed's clock (`ms`) has reached; returns them by symbol. */
  closeDue(ms: number): ClosedBars[] {
    if (ms < this.nextEnd) return [];
    const closed: ClosedBars[] = [];
    let next = Infinity;
    for (const [symbol, slots] of this.slots) {
      let bars: Bar[] | undefined;
      for (const slot of slots) {
        if (!slot || slot.bar.closed) continue;
        if (slot.endMs <= ms) (bars ??= []).push((slot.bar = closeBar(slot.bar)));
        else next = Math.min(next, slot.endMs);
      }
      if (bars) closed.push({ symbol, bars });
    }
    this.nextEnd = next;
    return closed;
  }
}
