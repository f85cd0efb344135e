import type { IncomingMessage } from 'node:http';
import type { BlockList } from 'node:net';
import type { Authenticator } from './auth.ts';
import { clientAddress } from './client-address.ts';
import { AddressBuckets } from './address-buckets.ts';
import type { Limits } from './options.ts';

/** Why a client was turned away: the reason it is told and the `refused_total` label. */
export interface Refusal {
  reason: string;
  metric: string;
}

/**
 * Whether a refusal holds whatever the client waits for (its origin or token): the others (the
 * connect rate, the connection limits, a shutdown) pass with time, so a client is told to retry.
 */
export const refusedForGood = (refusal: Refusal): boolean => refusal.metric === 'auth';

/** Who a new client is, why it may not connect (undefined: it may), and until when its token lasts. */
export interface Verdict {
  address: string;
  refused: Refusal | undefined;
  expiresAt?: number;
}

/**
 * Decides whether a new WebSocket or SSE client may connect: the per-address connect rate,
 * then origin and token, then shutdown and the total and per-address connection limits. It
 * also keeps the per-address counts, keyed by the client address (`--trust-proxy`).
 */
export class Admission {
  private readonly perAddress = new Map<string, number>();
  /**
   * New connections per address: opening one costs a greeting and a snapshot, so one address
   * opening and closing them in a loop would cost the server without ever holding many at once.
   */
  private readonly connects: AddressBuckets;

  constructor(
    private readonly limits: Limits,
    private readonly auth: Authenticator,
    private readonly trusted: BlockList | undefined,
    private readonly state: { closing: () => boolean; connections: () => number; now: () => number },
  ) {
    // A burst as large as the connections one address may hold: a page of tabs reconnecting
    // at once after a network blip all get in.
    const burst = Math.max(limits.connectsPerSecond, limits.maxConnectionsPerIp);
    this.connects = new AddressBuckets(limits.connectsPerSecond, burst, state.now);
  }

  /** The client's address, without deciding anything (log lines, plain HTTP requests). */
  addressOf(req: IncomingMessage): string {
    return clientAddress(req, this.trusted);
  }

  /**
   * Whether the client of `req` may connect. Add an admitted client in the same turn as this
   * resolves: the limits are checked after the (possibly asynchronous) token check, so clients
   * checked at once cannot overrun them together.
   */
  async decide(req: IncomingMessage, url: URL): Promise<Verdict> {
    const address = this.addressOf(req);
    const refused = (reason: string, metric: string) => ({ address, refused: { reason, metric } });
    const { maxConnections, maxConnectionsPerIp, connectsPerSecond } = this.limits;
    // Before the token: a flood of connections with bad tokens must not cost a check each.
    if (this.connects.level(address) < 1)
      return refused(
        `more than ${connectsPerSecond} new connections per second from one address`,
        'connect_rate',
      );
    this.connects.spend(address, 1);
    const verdict = await this.auth.check(req, url);
    if (!verdict.ok) return refused(verdict.reason, 'auth');
    if (this.state.closing()) return refused('server shutting down', 'shutdown');
    if (this.state.connections() >= maxConnections)
      return refused(`server full: ${maxConnections} connections`, 'max_connections');
    if ((this.perAddress.get(address) ?? 0) >= maxConnectionsPerIp)
      return refused(`at most ${maxConnectionsPerIp} connections per address`, 'max_per_ip');
    return {
      address,
      refused: undefined,
      ...(verdict.expiresAt !== undefined && { expiresAt: verdict.expiresAt }),
    };
  }

  /** Counts a connection from `address` (call once it is accepted). */
  opened(address: string): void {
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
  }

  /** Forgets a connection from `address`. */
  closed(address: string): void {
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left === 0) this.perAddress.delete(address);
    else this.perAddress.set(address, left);
  }
}
