import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Subscription } from 'rxjs';
import { eventJson } from '../hub/event-json.ts';
import type { Hub } from '../hub/hub.ts';
import type { HubMessage, StatusMessage } from '../protocol/messages.ts';
import type { BusMetrics } from './bus-metrics.ts';
import type { IngestLease } from './lease.ts';
import { entryId, type BusKeys, type ClusterState } from './redis-store.ts';

/** How many status changes the status stream keeps: edges only ever need the latest. */
const STATUS_MAXLEN = 100;

/** What the ingest side of the bus needs. */
export interface PublisherOptions {
  hub: Hub;
  redis: Redis;
  keys: BusKeys;
  /** The epoch's number in stream ids (see {@link ClusterState}). */
  gen: number;
  maxLen: number;
  /** The lease this ingest holds (acquired before it publishes); renewed every third of its length. */
  lease: IngestLease;
  log: Logger;
  metrics: BusMetrics;
}

/**
 * Writes every hub event to the stream, in seq order, and the snapshot beside it, one
 * transaction per batch, so Redis always holds a snapshot that the stream continues exactly.
 * What Redis did not confirm stays queued; on reconnect the publisher asks Redis how far it
 * got and sends the rest (from the hub's history when Redis came back empty).
 */
export class Publisher {
  private pending: HubMessage[] = [];
  private status: StatusMessage | undefined;
  private stateDirty = false;
  private busy = false;
  private scheduled = false;
  private stopped = false;
  private dropping = false;
  private reconnected = false;
  private readonly subscription = new Subscription();
  private readonly log: Logger;
  private readonly beat: NodeJS.Timeout;

  constructor(private readonly options: PublisherOptions) {
    this.log = options.log.child({ bus: 'publisher' });
    this.beat = setInterval(this.renewLease, options.lease.ms / 3).unref();
    this.subscription.add(
      options.hub.messages$.subscribe((m) => {
        this.pending.push(m);
        this.bound();
        this.schedule();
      }),
    );
    this.subscription.add(
      options.hub.status$.subscribe((s) => {
        this.status = s;
        this.schedule();
      }),
    );
    options.redis.on('ready', this.onReconnect);
    this.schedule();
  }

  /**
   * Writes this hub's snapshot and the recent events after `seq` to a Redis that lacks them (a
   * new cluster, or a hub its own data dir restored further), so edges can load it at once.
   */
  async announce(seq = 0): Promise<void> {
    this.seed(seq);
    await this.flush();
  }

  /** Events the hub stamped that Redis has not confirmed yet. */
  get backlog(): number {
    return this.pending.length;
  }

  /** Stops following the hub and sends what is queued, if Redis is up. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.subscription.unsubscribe();
    this.options.redis.off('ready', this.onReconnect);
    clearInterval(this.beat);
    await this.flush();
    this.stopped = true;
    // Edges see at once that no ingest is publishing, instead of when the lease runs out.
    if (this.options.redis.status === 'ready') await this.options.lease.release().catch(() => undefined);
    if (this.pending.length > 0)
      this.log.warn({ unpublished: this.pending.length }, 'stopping with events Redis never confirmed');
  }

  /** While Redis is down the queue would grow without end; the stream keeps only maxLen anyway. */
  private bound(): void {
    const { maxLen } = this.options;
    if (this.pending.length <= maxLen * 1.1) return;
    const dropped = this.pending.length - maxLen;
    this.pending = this.pending.slice(dropped);
    if (!this.dropping)
      this.log.warn(
        { dropped, kept: maxLen },
        'Redis unreachable for longer than the stream holds: oldest unpublished events dropped; edges will resync',
      );
    this.dropping = true;
  }

  private schedule(): void {
    if (this.scheduled || this.busy || this.stopped) return;
    this.scheduled = true;
    // One transaction per tick: the events of one frame go out together.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const { redis, keys, hub, gen, maxLen, metrics } = this.options;
    if (this.busy || this.stopped || redis.status !== 'ready') return;
    if (this.pending.length === 0 && !this.stateDirty && this.status === undefined) return;
    this.busy = true;
    const batch = this.pending;
    const status = this.status;
    this.pending = [];
    this.status = undefined;
    const multi = redis.multi();
    for (const m of batch)
      multi.xadd(keys.events, 'MAXLEN', '~', maxLen, entryId(gen, m.seq), 'm', eventJson(m));
    if (batch.length > 0 || this.stateDirty) {
      const state: ClusterState = {
        gen,
        epoch: hub.epoch,
        seq: hub.seq,
        quotes: hub.snapshot(),
        headlines: hub.latestHeadlines(),
        bars: hub.allBars(),
      };
      multi.set(keys.state, JSON.stringify(state));
    }
    if (status) multi.xadd(keys.status, 'MAXLEN', '~', STATUS_MAXLEN, '*', 's', JSON.stringify(status));
    let ok = false;
    try {
      const replies = (await multi.exec()) ?? [];
      const refused = replies.filter(([err]) => err);
      if (refused.length > 0)
        this.log.error(
          { err: refused[0]![0], refused: refused.length, firstSeq: batch[0]?.seq },
          'Redis refused events (is another ingest publishing to this stream?); they are not retried',
        );
      metrics.events.inc({ direction: 'published' }, batch.length - refused.length);
      this.stateDirty = false;
      this.dropping = false;
      ok = true;
    } catch (err) {
      // Not sent, or sent and the reply lost: the reconnect asks Redis which.
      this.pending = [...batch, ...this.pending];
      this.status ??= status;
      this.log.warn(
        { err, unpublished: this.pending.length },
        'publish to Redis failed; retrying on reconnect',
      );
    } finally {
      this.busy = false;
    }
    if (this.reconnected) return this.onReconnect();
    // After a failure only a reconnect (or the next event) retries, so a broken Redis is not hammered.
    if (ok && (this.pending.length > 0 || this.status !== undefined)) this.schedule();
  }

  /**
   * Renews the ingest's lease, which tells edges an ingest is alive however quiet the feed; a
   * renewal lost to a Redis outage is made good by the next beat, or at once on reconnect.
   */
  private readonly renewLease = () => {
    if (this.stopped || this.options.redis.status !== 'ready') return;
    this.options.lease.renew().then(
      (ours) => {
        if (!ours && !this.stopped)
          this.stopPublishing(
            { holder: this.options.lease.holder },
            'another ingest took the lease while this one was frozen or cut off: this ingest stops publishing so no seq is used twice',
          );
      },
      (err: unknown) => this.log.debug({ err }, 'renewing the ingest lease failed; the next beat retries'),
    );
  };

  /** Stops for good: another ingest publishes to this cluster now. */
  private stopPublishing(fields: Record<string, unknown>, why: string): void {
    this.log.error(fields, why);
    this.stopped = true;
    this.subscription.unsubscribe();
    clearInterval(this.beat);
  }

  /** After a reconnect: find out what Redis holds and queue what it lacks. */
  private readonly onReconnect = () => {
    this.renewLease();
    // A flush in flight when the link came back runs this when it settles.
    this.reconnected = this.busy;
    if (this.busy || this.stopped) return;
    this.busy = true;
    void this.reconcile().finally(() => {
      this.busy = false;
      this.schedule();
    });
  };

  private async reconcile(): Promise<void> {
    const { redis, keys, hub } = this.options;
    let there: ClusterState | undefined;
    try {
      const raw = await redis.get(keys.state);
      there = raw === null ? undefined : (JSON.parse(raw) as ClusterState);
    } catch (err) {
      this.log.warn(
        { err },
        'cannot read the cluster state after reconnecting; retrying on the next reconnect',
      );
      return;
    }
    if (there && (there.epoch !== hub.epoch || there.seq > hub.seq)) {
      this.stopPublishing(
        { theirs: { epoch: there.epoch, seq: there.seq }, ours: hub.position },
        'Redis holds another ingest’s state: this ingest stops publishing so no seq is used twice',
      );
      return;
    }
    this.seed(there?.seq);
    if (there === undefined)
      this.log.warn(
        { epoch: hub.epoch, seq: hub.seq, republishing: this.pending.length },
        'Redis came back without the cluster state (restarted empty?): re-seeding snapshot and recent events',
      );
    else
      this.log.info(
        { redisSeq: there.seq, seq: hub.seq, publishing: this.pending.length },
        'Redis reconnected: publishing the events it missed',
      );
  }

  /** Queues everything Redis lacks after `seq` (nothing held: all recent events), state and status. */
  private seed(seq = 0): void {
    this.pending = this.unpublished(seq);
    this.stateDirty = true;
    this.status = this.options.hub.status;
  }

  /** Events after `seq`, from the hub's history and what is queued, oldest first, without repeats. */
  private unpublished(seq: number): HubMessage[] {
    const firstQueued = this.pending[0]?.seq ?? Infinity;
    const fromHistory =
      firstQueued > seq + 1
        ? this.options.hub.exportState().history.filter((m) => m.seq > seq && m.seq < firstQueued)
        : [];
    const events = [...fromHistory, ...this.pending.filter((m) => m.seq > seq)];
    return events.slice(-this.options.maxLen);
  }
}
