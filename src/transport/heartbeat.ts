import { interval, map, switchMap, takeWhile, tap, type SchedulerLike, type Subscription } from 'rxjs';
import type { ServerMessage } from '../protocol/messages.ts';
import type { Sink } from './sink.ts';

/** What the heartbeat needs of a client. */
export interface Beating {
  readonly sink: Sink;
}

/** The clients a heartbeat walks: any live collection that knows its size (the registry). */
export type Beaten<T> = Iterable<T> & { readonly size: number };

/**
 * How often a slice of the peers is pinged. A ping is a write to each socket: all of them at
 * once would hold every other delivery back for as long as thousands of writes take, once each
 * period, while a slice this often costs each delivery little.
 */
const SLICE_MS = 100;

/**
 * Every `heartbeatMs`: a heartbeat message to every client, and a WebSocket ping to each
 * WebSocket peer, spread in slices over the period; a peer that has not answered its previous
 * ping when its turn comes again (a period later) is cut off. SSE peers are found dead by their
 * socket closing instead.
 */
export class Heartbeat<T extends Beating> {
  /** Pinged and not yet answered: only these are held, so an idle client costs nothing here. */
  private readonly awaiting = new Set<T>();
  /** Where this period's pings have got to, while some are left. */
  private round: Iterator<T> | undefined;
  private perSlice = 0;

  constructor(
    private readonly clients: Beaten<T>,
    private readonly broadcast: (message: ServerMessage) => void,
    private readonly seq: () => number,
    private readonly scheduler: SchedulerLike,
  ) {}

  /** Beats every `ms` until the subscription ends, pinging a slice of the peers every `SLICE_MS`. */
  start(ms: number): Subscription {
    const slices = Math.max(1, Math.round(ms / SLICE_MS));
    return interval(ms, this.scheduler)
      .pipe(
        tap(() => this.startPeriod(slices)),
        // The period's other slices, only while peers are left to ping: a server with few
        // clients (or a test that jumps days on a virtual clock) ticks little more than once a period.
        switchMap(() =>
          interval(ms / slices, this.scheduler).pipe(
            map(() => this.pingSlice()),
            takeWhile((more) => more),
          ),
        ),
      )
      .subscribe();
  }

  /** The heartbeat message, then the first slice of this period's pings. */
  private startPeriod(slices: number): void {
    this.broadcast({ type: 'heartbeat', seq: this.seq(), ts: new Date(this.scheduler.now()).toISOString() });
    // A live iterator: a client that leaves is skipped, one that arrives comes at the end.
    this.round = this.clients[Symbol.iterator]();
    // At least one, so that a period with no one to ping ends at its first slice.
    this.perSlice = Math.max(1, Math.ceil(this.clients.size / slices));
    this.pingSlice();
  }

  /** Pings the next slice of this period's peers; says whether any may be left. */
  private pingSlice(): boolean {
    for (let k = 0; this.round && k < this.perSlice; k++) {
      const next = this.round.next();
      if (next.done) this.round = undefined;
      else this.ping(next.value);
    }
    return this.round !== undefined;
  }

  /** Pings a WebSocket peer, or cuts it off if it never answered the last ping. */
  private ping(c: T): void {
    if (!c.sink.ping) return;
    if (this.awaiting.has(c)) {
      this.awaiting.delete(c);
      c.sink.terminate();
      return;
    }
    this.awaiting.add(c);
    c.sink.ping();
  }

  /** The peer answered a ping. */
  pong(client: T): void {
    this.awaiting.delete(client);
  }

  /** Forgets a client that went away. */
  forget(client: T): void {
    this.awaiting.delete(client);
  }
}
