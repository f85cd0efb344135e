import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { TickstreamError } from '../errors.ts';

// Renew only a lease that is ours, or that Redis lost (restarted empty): never one another
// ingest took after ours ran out.
const RENEW = `local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] or not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * The ingest's lease on a cluster (`<prefix>:ingest`, a TTL renewed every third of it): at most
 * one ingest publishes, and edges can tell a quiet feed from a dead ingest.
 */
export class IngestLease {
  /** Who holds it: this host and process, and a random part so a restart is a new holder. */
  readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly ms: number,
    private readonly log: Logger,
  ) {}

  /**
   * Takes the lease, waiting while another ingest's runs out (one that crashed holds it until
   * its TTL ends); fails once it sees the other renewed twice, since two live ingests would stamp
   * the same seqs.
   */
  async acquire(): Promise<void> {
    let seen: { holder: string | null; ttl: number } | undefined;
    let renewals = 0;
    for (;;) {
      if ((await this.redis.set(this.key, this.holder, 'PX', this.ms, 'NX')) === 'OK') {
        if (seen) this.log.info({ key: this.key }, 'took the ingest lease');
        return;
      }
      const holder = await this.redis.get(this.key);
      const ttl = await this.redis.pttl(this.key);
      if (seen && (holder !== seen.holder || ttl > seen.ttl)) renewals++;
      if (renewals >= 2 || ttl === -1)
        throw new TickstreamError(
          'bus_conflict',
          `another ingest (${holder ?? 'unknown'}) holds ${this.key} and keeps renewing it: run exactly one ingest per cluster (--bus-prefix)`,
        );
      if (!seen)
        this.log.warn(
          { key: this.key, holder, ttlMs: ttl },
          'another ingest holds the lease: waiting for it to end',
        );
      seen = { holder, ttl };
      await new Promise((r) => setTimeout(r, Math.max(10, Math.min(ttl, this.ms / 6))));
    }
  }

  /** Extends the lease; false when another ingest holds it now (this one must stop publishing). */
  async renew(): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.key, this.holder, String(this.ms))) === 1;
  }

  /** Gives the lease up, if it is still ours, so edges see at once that no ingest publishes. */
  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.holder);
  }
}
