import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Hub, StatusFields } from '../hub/hub.ts';
import type { StatusMessage } from '../protocol/messages.ts';
import { backoffDelay } from './backoff.ts';
import type { BusMetrics } from './bus-metrics.ts';
import {
  badEntryReporter,
  decodeEvent,
  decodeStatus,
  entryId,
  parseEntryId,
  type StreamEntry,
} from './stream-codec.ts';
import {
  headOf,
  loadCluster,
  restoreCluster,
  whenReady,
  type BusKeys,
  type Loaded,
  type LoadLimits,
} from './redis-store.ts';

/** Entries per read: bounds one read's work while an edge catches up. */
const READ_COUNT = 1000;
/** How long one XREAD blocks; a dead link, or an ingest whose lease ran out, shows up no later than this. */
const BLOCK_MS = 2000;

/** Why an edge reloaded the snapshot instead of continuing from the stream. */
export type ResyncReason = 'trimmed' | 'new_epoch' | 'bad_entry';

/** What the edge side of the bus needs. */
export interface FollowerOptions {
  hub: Hub;
  redis: Redis;
  keys: BusKeys;
  /** The history (recent events) and headlines to load into the hub on (re)load. */
  limits: LoadLimits;
  log: Logger;
  metrics: BusMetrics;
}

/**
 * Follows the cluster into a hub: loads the snapshot and the stream's recent events, then
 * applies each stream entry with `hub.accept` as an edge of a single server would see it.
 * When the stream no longer continues the hub (trimmed past it, a new epoch, an unreadable
 * entry) it reloads the snapshot: resume then answers `recovered: false` for what it no longer holds.
 */
export class Follower {
  private gen: number | undefined;
  private eventsId = '$';
  private statusId = '0-0';
  private stopped = false;
  private headSeq: number | undefined;
  /** The ingest's latest status, shown while the link is up and an ingest holds its lease. */
  private upstream: StatusFields | undefined;
  private linkUp = true;
  /** Whether an ingest held its lease at the last read; undefined before the first. */
  private ingestAlive: boolean | undefined;
  /** Whether a resync is loading the cluster: until it is in, the hub's state is behind. */
  private reloading = false;
  private readonly log: Logger;
  private readonly report: (problem: string) => void;
  /** Ends when the follower is closed. */
  readonly done: Promise<void>;

  constructor(
    private readonly options: FollowerOptions,
    loaded: Loaded,
  ) {
    this.log = options.log.child({ bus: 'follower' });
    this.report = badEntryReporter(this.log, options.metrics);
    this.adopt(loaded);
    options.redis.on('close', this.onLost);
    options.redis.on('ready', this.onBack);
    this.done = this.run();
  }

  /** Whether the hub holds the cluster's state (an edge serves nothing true before that). */
  get synced(): boolean {
    return this.gen !== undefined;
  }

  /** Whether an ingest is publishing (its lease was held at the last read); undefined before one. */
  get ingest(): boolean | undefined {
    return this.ingestAlive;
  }

  /** Whether a resync is loading the cluster's state (seconds with days of bars). */
  get resyncing(): boolean {
    return this.reloading;
  }

  /** Stream entries the hub is behind the head, as of the last read; undefined before one. */
  get lag(): number | undefined {
    return this.headSeq === undefined ? undefined : Math.max(0, this.headSeq - this.options.hub.seq);
  }

  /** Stops following; the blocked read ends when the connection closes. */
  close(): Promise<void> {
    this.stopped = true;
    this.options.redis.off('close', this.onLost);
    this.options.redis.off('ready', this.onBack);
    return this.done;
  }

  private adopt({ cluster, status }: Loaded): void {
    const { hub } = this.options;
    if (status) {
      this.statusId = status.id;
      this.applyStatus(status.message);
    }
    if (!cluster) {
      // Nothing published yet: the ingest writes state and events in one transaction, so the
      // first entry that arrives tells us to load.
      this.gen = undefined;
      this.eventsId = '$';
      this.log.warn('Redis holds no cluster state yet; waiting for the ingest');
      return;
    }
    restoreCluster(hub, cluster);
    const head = headOf(cluster);
    this.gen = cluster.gen;
    this.eventsId = entryId(cluster.gen, head.seq);
    this.headSeq = head.seq;
    this.log.info(
      { ...head, history: cluster.snapshot.history.length + cluster.run.length },
      'loaded the cluster snapshot and recent events',
    );
  }

  private applyStatus({ source, state, market }: StatusMessage): void {
    this.upstream = { source, state, market };
    this.showStatus();
  }

  // Without the bus, or with no ingest publishing, this edge cannot tell a quiet market from a
  // dead feed, and while it reloads the cluster it knows its numbers are behind: it says so to
  // clients, and shows the ingest's status again once all is well.
  private showStatus(): void {
    const { hub } = this.options;
    if (!this.linkUp || this.ingestAlive === false || this.reloading) hub.setStatus({ state: 'stale' });
    else if (this.upstream) hub.setStatus(this.upstream);
  }

  private readonly onLost = () => {
    this.linkUp = false;
    this.showStatus();
  };

  private readonly onBack = () => {
    this.linkUp = true;
    this.showStatus();
  };

  private noteIngest(alive: boolean): void {
    if (alive === this.ingestAlive) return;
    const before = this.ingestAlive;
    this.ingestAlive = alive;
    if (!alive)
      this.log.warn(
        { key: this.options.keys.ingest },
        'no ingest holds its lease: the feed is stale until one publishes again',
      );
    else if (before === false) this.log.info('an ingest is publishing again');
    this.showStatus();
  }

  private async run(): Promise<void> {
    const { redis, keys } = this.options;
    let errors = 0;
    while (!this.stopped) {
      try {
        await whenReady(redis);
      } catch {
        return;
      }
      try {
        const replies = await redis
          .pipeline()
          .exists(keys.ingest)
          .xrevrange(keys.events, '+', '-', 'COUNT', 1)
          .xread(
            'COUNT',
            READ_COUNT,
            'BLOCK',
            BLOCK_MS,
            'STREAMS',
            keys.events,
            keys.status,
            this.eventsId,
            this.statusId,
          )
          .exec();
        const [[leaseErr, lease], [headErr, head], [readErr, read]] = replies as [
          [Error | null, unknown],
          [Error | null, unknown],
          [Error | null, unknown],
        ];
        if (leaseErr) throw leaseErr;
        if (headErr) throw headErr;
        if (readErr) throw readErr;
        this.noteIngest(lease === 1);
        const [top] = (head ?? []) as StreamEntry[];
        const headSeq = top && parseEntryId(top[0])?.seq;
        if (headSeq !== undefined) this.headSeq = headSeq;
        if (this.stopped) return;
        for (const [key, entries] of (read ?? []) as [string, StreamEntry[]][]) {
          if (key === keys.status) this.readStatus(entries);
          else await this.readEvents(entries);
        }
        errors = 0;
      } catch (err) {
        if (this.stopped) return;
        if (redis.status === 'ready') {
          // A Redis that answers with errors (loading, a replica syncing, busy) is retried with backoff.
          const pause = backoffDelay(errors++);
          this.log.error({ err, retryInMs: pause }, 'reading the stream failed; retrying');
          await new Promise((r) => setTimeout(r, pause));
        } else this.log.debug({ err }, 'stream read cut by a lost connection; resuming after reconnect');
      }
    }
  }

  private readStatus(entries: StreamEntry[]): void {
    for (const entry of entries) {
      this.statusId = entry[0];
      const status = decodeStatus(entry);
      // A status is not an event: a bad one is skipped, and the next one says the same.
      if (status.ok) this.applyStatus(status.value);
      else this.report(status.problem);
    }
  }

  private async readEvents(entries: StreamEntry[]): Promise<void> {
    const { hub, metrics } = this.options;
    for (const entry of entries) {
      const [id] = entry;
      const decoded = decodeEvent(entry);
      if (!decoded.ok) {
        this.report(decoded.problem);
        return this.resync('bad_entry', id);
      }
      const { gen, message } = decoded.value;
      const reason: ResyncReason | undefined =
        gen !== this.gen ? 'new_epoch' : message.seq !== hub.seq + 1 ? 'trimmed' : undefined;
      if (reason) return this.resync(reason, id);
      hub.accept(message);
      this.eventsId = id;
      metrics.events.inc({ direction: 'received' });
    }
  }

  /** Reloads the snapshot and recent events; the hub's clients must start over. */
  private async resync(reason: ResyncReason, at: string): Promise<void> {
    const { hub, redis, keys, limits, metrics } = this.options;
    const before = hub.position;
    const hadState = this.gen !== undefined;
    this.reloading = true;
    this.showStatus();
    let loaded: Loaded;
    try {
      loaded = await loadCluster(redis, keys, limits, this.report);
    } finally {
      this.reloading = false;
    }
    this.adopt(loaded);
    this.showStatus();
    // The loaded state is the snapshot rolled forward to the stream head: reading on from there
    // never skips an entry.
    if (!hadState) return;
    metrics.resyncs.inc({ reason });
    this.log.warn(
      { reason, at, before, after: hub.position },
      reason === 'trimmed'
        ? 'the stream no longer reaches back to this edge: reloaded the snapshot; clients resync'
        : reason === 'new_epoch'
          ? 'the cluster started a new epoch: reloaded the snapshot; clients resync'
          : 'skipped past an unreadable entry by reloading the snapshot; clients resync',
    );
  }
}
