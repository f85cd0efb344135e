import type { Bar, BarInterval } from '../protocol/messages.ts';
import { INTERVAL_MS } from './intervals.ts';

/** A bar's values that change as quotes fold into it. */
type BarValues = Pick<Bar, 'open' | 'high' | 'low' | 'close' | 'updates' | 'closed'>;

/**
 * A bar held and revised in place: the bars stage folds each quote into one per symbol and
 * interval, and the hub's bar store keeps one per bar it holds. A quote change revises five of
 * them, and a new `Bar` for each would live until the next change of the same bar, long enough
 * to be promoted to V8's old generation. A slot never leaves its owner: what leaves is a
 * `snapshot()`, a `Bar` of its own that the slot never touches again.
 */
export class BarSlot {
  start: string;
  startMs: number;
  endMs: number;
  open = 0;
  high = 0;
  low = 0;
  close = 0;
  updates = 0;
  closed = false;

  constructor(
    readonly symbol: string,
    readonly interval: BarInterval,
    bar: Pick<Bar, 'start'> & BarValues,
  ) {
    this.start = bar.start;
    this.startMs = Date.parse(bar.start);
    this.endMs = this.startMs + INTERVAL_MS[interval];
    this.revise(bar);
  }

  /** Takes `bar`'s values (a later version of the same bar). */
  revise(bar: BarValues): void {
    this.open = bar.open;
    this.high = bar.high;
    this.low = bar.low;
    this.close = bar.close;
    this.updates = bar.updates;
    this.closed = bar.closed;
  }

  /** Starts the bar at `startMs` with its first quote at `price`, in place of the one held. */
  reopen(startMs: number, price: number): void {
    this.start = new Date(startMs).toISOString();
    this.startMs = startMs;
    this.endMs = startMs + INTERVAL_MS[this.interval];
    this.open = this.high = this.low = this.close = price;
    this.updates = 1;
    this.closed = false;
  }

  /** One more quote at `price`: prices are picked, never computed, so they stay exact. */
  add(price: number): void {
    if (price > this.high) this.high = price;
    if (price < this.low) this.low = price;
    this.close = price;
    this.updates++;
  }

  /** The bar as it is now, as a value no later fold changes. */
  snapshot(): Bar {
    return {
      symbol: this.symbol,
      interval: this.interval,
      start: this.start,
      open: this.open,
      high: this.high,
      low: this.low,
      close: this.close,
      updates: this.updates,
      closed: this.closed,
    };
  }
}
