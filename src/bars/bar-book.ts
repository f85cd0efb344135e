import { BAR_INTERVALS, type Bar, type BarInterval } from '../protocol/messages.ts';
import { addQuote, closeBar, openBar } from './fold-bar.ts';
import { barStart, INTERVAL_MS } from './intervals.ts';

interface Slot {
  bar: Bar;
  startMs: number;
  endMs: number;
}

/**
 * The current bar of every symbol and interval: what the bars stage folds quotes into. Only the
 * latest bar of each is held; older ones live in the hub.
 */
export class BarBook {
  private readonly slots = new Map<string, Slot>();
  /** The earliest end of a bar still open: the clock needs to look only once it passes this. */
  private nextEnd = Infinity;

  constructor(
    private readonly intervals: readonly BarInterval[] = BAR_INTERVALS,
    seed: Iterable<Bar> = [],
  ) {
    for (const bar of seed) this.hold(bar);
  }

  private hold(bar: Bar): Slot {
    const startMs = Date.parse(bar.start);
    const slot = { bar, startMs, endMs: startMs + INTERVAL_MS[bar.interval] };
    this.slots.set(`${bar.symbol} ${bar.interval}`, slot);
    if (!bar.closed) this.nextEnd = Math.min(this.nextEnd, slot.endMs);
    return slot;
  }

  /**
   * Folds a quote of `symbol` at `price`, observed at `ms`, into its bars; returns the bars
   * that changed. A quote older than a symbol's current bar (out of order) leaves it alone.
   */
  quote(symbol: string, price: number, ms: number): Bar[] {
    const changed: Bar[] = [];
    for (const interval of this.intervals) {
      const key = `${symbol} ${interval}`;
      const slot = this.slots.get(key);
      if (slot && ms < slot.startMs) continue;
      if (slot && ms < slot.endMs) {
        slot.bar = addQuote(slot.bar, price);
        changed.push(slot.bar);
        continue;
      }
      const start = barStart(interval, ms);
      changed.push(this.hold(openBar(symbol, interval, new Date(start).toISOString(), price)).bar);
    }
    return changed;
  }

  /** Closes every open bar whose end the feed's clock (`ms`) has reached; returns them. */
  closeDue(ms: number): Bar[] {
    if (ms < this.nextEnd) return [];
    const closed: Bar[] = [];
    let next = Infinity;
    for (const slot of this.slots.values()) {
      if (slot.bar.closed) continue;
      if (slot.endMs <= ms) {
        slot.bar = closeBar(slot.bar);
        closed.push(slot.bar);
      } else next = Math.min(next, slot.endMs);
    }
    this.nextEnd = next;
    return closed;
  }
}
