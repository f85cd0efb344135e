import { interval, type SchedulerLike, type Subscription } from 'rxjs';
import type { ServerMessage } from '../protocol/messages.ts';
import type { Sink } from './sink.ts';

/** What the heartbeat needs of a client. */
export interface Beating {
  readonly sink: Sink;
}

/**
 * Every `heartbeatMs`: a heartbeat message to every client, and a WebSocket ping to each
 * WebSocket peer; a peer that has not answered the previous ping is cut off. SSE peers are found
 * dead by their socket closing instead.
 */
export class Heartbeat<T extends Beating> {
  /** Pinged and not yet answered: only these are held, so an idle client costs nothing here. */
  private readonly awaiting = new Set<T>();

  constructor(
    private readonly clients: Iterable<T>,
    private readonly broadcast: (message: ServerMessage) => void,
    private readonly seq: () => number,
    private readonly scheduler: SchedulerLike,
  ) {}

  /** Beats every `ms` until the subscription ends. */
  start(ms: number): Subscription {
    return interval(ms, this.scheduler).subscribe(() => this.beat());
  }

  /** One beat: the heartbeat message, then a ping to each WebSocket peer or its cut-off. */
  beat(): void {
    this.broadcast({ type: 'heartbeat', seq: this.seq(), ts: new Date(this.scheduler.now()).toISOString() });
    for (const c of this.clients) {
      if (!c.sink.ping) continue;
      if (this.awaiting.has(c)) {
        this.awaiting.delete(c);
        c.sink.terminate();
        continue;
      }
      this.awaiting.add(c);
      c.sink.ping();
    }
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
