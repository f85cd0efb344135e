import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';

/**
 * The default `--max-waiting-bytes`: a quarter of the machine's memory, and no more than the
 * heap limit (what is queued for clients lives in and beside the heap, and the process must
 * keep room to work).
 */
export const defaultMaxWaitingBytes = (): number =>
  Math.floor(Math.min(totalmem() / 4, getHeapStatistics().heap_size_limit));

/** A client as the ceiling sees it. */
export interface Consumer {
  readonly waitingBytes: number;
  /** Merges its queued quote deltas per symbol from now on (as for a slow consumer). */
  conflateNow(): void;
  /** Closes it with 4008, saying why. */
  closeSlow(why: string): void;
}

/**
 * One limit on the bytes held for all clients together: the per-client limits bound each
 * client, not ten thousand of them at once. Over it, the biggest consumers are conflated first;
 * one still among those to shed at the next check is closed with 4008.
 */
export class MemoryCeiling<C extends Consumer> {
  // Consumers conflated by the last check that found the total over the ceiling, if it did.
  private shed: WeakSet<C> | undefined;

  constructor(
    private readonly maxBytes: number,
    private readonly report: (action: 'conflated' | 'closed', consumer: C) => void,
  ) {}

  /** Brings the total under the ceiling, biggest consumers first. */
  check(consumers: Iterable<C>): void {
    // Summed in place: the usual check finds the total under the ceiling and copies nothing.
    let total = 0;
    for (const c of consumers) total += c.waitingBytes;
    if (total <= this.maxBytes) {
      this.shed = undefined;
      return;
    }
    const shed = this.shed ?? (this.shed = new WeakSet());
    const all = [...consumers].sort((a, b) => b.waitingBytes - a.waitingBytes);
    for (const c of all) {
      if (total <= this.maxBytes) break;
      const before = c.waitingBytes;
      if (shed.has(c)) {
        c.closeSlow(`over the server's ${this.maxBytes} bytes waiting for all clients`);
        this.report('closed', c);
        total -= before;
      } else {
        c.conflateNow();
        shed.add(c);
        this.report('conflated', c);
        total -= before - c.waitingBytes;
      }
    }
  }
}
