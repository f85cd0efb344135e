import type { SchedulerLike, Subscription } from 'rxjs';
import { AddressBuckets, BURST_SECONDS } from './address-buckets.ts';

/** A connection whose reading can be held back: a WebSocket (an SSE stream sends nothing). */
export interface Reader {
  pause(): void;
  resume(): void;
}

/**
 * How many bytes of frames one client address may send per second, across all its connections.
 * Every frame costs the loop before any limit can look at it (unmasking, checking its UTF-8,
 * screening its JSON), and the per-connection limits multiply by the connections an address may
 * hold. An address past its bytes is not refused but read no faster: each of its connections
 * that delivers a frame then stops being read until the address has paid its debt back, so the
 * kernel's buffers fill and TCP slows the sender, at no cost to the server.
 */
export class ReadBudget {
  private readonly buckets: AddressBuckets;
  /** The readers held back, each with the timer that lets it read again. */
  private readonly held = new Map<Reader, Subscription>();

  constructor(
    perSecond: number,
    private readonly scheduler: SchedulerLike,
    /** Told each time a connection is held back. */
    private readonly onHold: () => void,
  ) {
    this.buckets = new AddressBuckets(perSecond, perSecond * BURST_SECONDS, () => scheduler.now());
  }

  get perSecond(): number {
    return this.buckets.perSecond;
  }

  /** Charges `address` for a frame of `bytes` read from `reader`, holding the reader while in debt. */
  charge(address: string, bytes: number, reader: Reader): void {
    this.buckets.spend(address, bytes);
    const wait = this.buckets.msUntil(address, 0);
    if (wait === 0 || this.held.has(reader)) return;
    reader.pause();
    this.onHold();
    const timer = this.scheduler.schedule(() => {
      this.held.delete(reader);
      reader.resume();
    }, wait);
    this.held.set(reader, timer);
  }

  /** Forgets `reader`, its connection gone, with its hold's timer. */
  release(reader: Reader): void {
    this.held.get(reader)?.unsubscribe();
    this.held.delete(reader);
  }
}
