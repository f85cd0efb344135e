import { BAR_INTERVALS, type Bar, type BarInterval } from '../protocol/messages.ts';
import { BarSlot } from './fold-bar.ts';
import { barStart } from './intervals.ts';

/** Bars of one symbol that closed together. */
export interface ClosedBars {
  symbol: string;
  bars: Bar[];
}

/**
 * The current bar of every symbol and interval: what the bars stage folds quotes into. Only the
 * latest bar of each is held, in a slot revised in place; older ones live in the hub. What the
 * book returns are snapshots, never its slots.
 */
export class BarBook {
  /** Each symbol's slots, one per interval in `intervals` order. */
  private readonly slots = new Map<string, (BarSlot | undefined)[]>();
  /** The earliest end of a bar still open: the clock needs to look only once it passes this. */
  private nextEnd = Infinity;

  constructor(
    private readonly intervals: readonly BarInterval[] = BAR_INTERVALS,
    seed: Iterable<Bar> = [],
  ) {
    for (const bar of seed) {
      const i = this.intervals.indexOf(bar.interval);
      if (i < 0) continue;
      const slot = (this.slotsOf(bar.symbol)[i] = new BarSlot(bar.symbol, bar.interval, bar));
      if (!slot.closed) this.nextEnd = Math.min(this.nextEnd, slot.endMs);
    }
  }

  private slotsOf(symbol: string): (BarSlot | undefined)[] {
    let slots = this.slots.get(symbol);
    if (!slots) this.slots.set(symbol, (slots = new Array<BarSlot | undefined>(this.intervals.length)));
    return slots;
  }

  /**
   * Folds a quote of `symbol` at `price`, observed at `ms`, into its bars; returns the bars
   * that changed. A quote older than a symbol's current bar (out of order) leaves it alone.
   */
  quote(symbol: string, price: number, ms: number): Bar[] {
    const slots = this.slotsOf(symbol);
    const changed: Bar[] = [];
    for (let i = 0; i < this.intervals.length; i++) {
      let slot = slots[i];
      if (slot && ms < slot.startMs) continue;
      if (slot && ms < slot.endMs) slot.add(price);
      else {
        const interval = this.intervals[i]!;
        const startMs = barStart(interval, ms);
        if (slot) slot.reopen(startMs, price);
        else {
          const start = new Date(startMs).toISOString();
          slots[i] = slot = new BarSlot(symbol, interval, {
            start,
            open: price,
            high: price,
            low: price,
            close: price,
            updates: 1,
            closed: false,
          });
        }
        if (slot.endMs < this.nextEnd) this.nextEnd = slot.endMs;
      }
      changed.push(slot.snapshot());
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
        if (!slot || slot.closed) continue;
        if (slot.endMs <= ms) {
          slot.closed = true;
          (bars ??= []).push(slot.snapshot());
        } else next = Math.min(next, slot.endMs);
      }
      if (bars) closed.push({ symbol, bars });
    }
    this.nextEnd = next;
    return closed;
  }
}
