import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import type { Metrics } from '../metrics.ts';
import type { Admission } from './admission.ts';
import { closeWhenExpired } from './auth.ts';
import { Connection, type ConnectionContext } from './connection.ts';
import type { Outgoing, Sink } from './sink.ts';

/** What the registry needs beside the context it shares with every connection. */
export interface RegistryDeps {
  admission: Pick<Admission, 'opened' | 'closed'>;
  /** What a new client gets first (hello and status). */
  greeting: (transport: 'ws' | 'sse') => readonly Outgoing[];
  /** Told when a client goes, so nothing else holds it (its pending flush, its awaited pong). */
  forget: (connection: Connection) => void;
}

/**
 * Every open client: registers a new one (its id, greeting, token expiry, per-address count
 * and gauge) and forgets it when its socket closes.
 */
export class ConnectionRegistry implements Iterable<Connection> {
  private readonly all = new Set<Connection>();
  private nextClientId = 1;
  // One context shared by every connection: idle memory per connection counts.
  private readonly ctx: ConnectionContext;

  constructor(
    shared: Omit<ConnectionContext, 'released'>,
    private readonly deps: RegistryDeps,
  ) {
    this.ctx = { ...shared, released: (conn, code) => this.release(conn, code) };
  }

  private get log(): Logger {
    return this.ctx.log;
  }

  private get metrics(): Metrics {
    return this.ctx.metrics;
  }

  private get scheduler(): SchedulerLike {
    return this.ctx.scheduler;
  }

  /** Registers a client on any sink and greets it; `conn.release()` forgets it. */
  add(sink: Sink, ip: string, transport: 'ws' | 'sse', expiresAt?: number): Connection {
    const conn = new Connection(sink, this.ctx, { client: this.nextClientId++, ip, transport });
    if (expiresAt !== undefined)
      closeWhenExpired(conn, expiresAt, this.scheduler, () => {
        this.metrics.refused.inc({ reason: 'token_expired' });
        this.log.info(conn.bindings, 'token expired; closing the client');
      });
    this.all.add(conn);
    this.deps.admission.opened(ip);
    this.metrics.connections.inc();
    this.log.debug(conn.bindings, 'client connected');
    for (const item of this.deps.greeting(transport)) conn.enqueue(item);
    return conn;
  }

  private release(conn: Connection, code: number | undefined): void {
    this.all.delete(conn);
    this.deps.forget(conn);
    this.deps.admission.closed(conn.bindings.ip);
    this.metrics.connections.dec();
    this.log.debug({ ...conn.bindings, code }, 'client disconnected');
  }

  get size(): number {
    return this.all.size;
  }

  [Symbol.iterator](): Iterator<Connection> {
    return this.all.values();
  }

  /** Bytes held for clients (socket buffers plus queues): the total and the largest one client holds. */
  waitingBytes(): { total: number; max: number } {
    let total = 0;
    let max = 0;
    for (const c of this.all) {
      const n = c.waitingBytes;
      total += n;
      max = Math.max(max, n);
    }
    return { total, max };
  }
}
