import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Subscription } from 'rxjs';
import { BarLogChanged, BarLogCopy, type BarLogWrite, type LoggedBars } from '../hub/bar-log-copy.ts';
import type { Hub } from '../hub/hub.ts';
import type { StatusMessage } from '../protocol/messages.ts';
import { Backoff } from './backoff.ts';
import type { BusMetrics } from './bus-metrics.ts';
import type { IngestLease } from './lease.ts';
import {
  EVENTS_PER_COMMAND,
  publish,
  writeBarPieces,
  writeEventsAhead,
  type AheadInto,
  type PublishCall,
  type PublishReply,
} from './publish-script.ts';
import { heldEvents, queuedJson, type Queued } from './republish.ts';
import { newLogKey, nextStreamKey, type BusKeys, type ClusterState } from './redis-store.ts';
import { SnapshotThrottle } from './snapshot-throttle.ts';
import { encodeClusterState, encodeStatus } from './stream-codec.ts';

/** Replies in a row that say Redis does not hold what this ingest expects before retries back off. */
const MISMATCHES_BEFORE_BACKOFF = 3;
/** A publish unanswered this long marks the ingest degraded (a slow or stuck Redis). */
const SLOW_MS = 2000;

/** What the ingest side of the bus needs. */
export interface PublisherOptions {
  hub: Hub;
  redis: Redis;
  keys: BusKeys;
  /** The epoch's number in stream ids (see {@link ClusterState}). */
  gen: number;
  maxLen: number;
  /** Longest wait between snapshot writes while events flow (ms). */
  snapshotMs: number;
  /** The lease this ingest holds (acquired before it publishes); renewed every third of its length. */
  lease: IngestLease;
  /**
   * The bar log in Redis that `hub`'s bars were restored from: the first snapshot goes on
   * writing it instead of writing every bar again (Redis refuses it if another log replaced it,
   * and the next snapshot then writes the log whole).
   */
  copy?: LoggedBars;
  log: Logger;
  metrics: BusMetrics;
}

/** Whether Redis takes this ingest's events: `/healthz` `bus.publish`. */
export type PublishHealth = { ok: true } | { ok: false; error: string; forMs: number };

/**
 * Writes every hub event to the stream, in seq order, with the snapshot beside it now and
 * then, one script per batch that first checks this ingest still holds the lease. What Redis
 * did not take stays queued and is retried with backoff; when the stream does not continue
 * where this ingest expects (Redis restarted, empty or not), Redis says where it stands and
 * the publisher sends what follows (from what the hub holds when Redis came back empty).
 */
export class Publisher {
  private pending: Queued[] = [];
  private status: StatusMessage | undefined;
  /** The queue no longer continues what Redis holds (dropped, or gone from history): the snapshot covers the gap. */
  private gap = false;
  private readonly snapshots: SnapshotThrottle;
  private readonly barLog = new BarLogCopy();
  /** The publish under way: since Redis last answered it, and how many events it carries. */
  private inFlight: { since: number; done: Promise<void>; events: number } | undefined;
  private scheduled = false;
  private stopped = false;
  private dropping = false;
  private mismatches = 0;
  private readonly retries = new Backoff(() => void this.flush());
  private snapshotTimer: NodeJS.Timeout | undefined;
  private readonly subscription = new Subscription();
  private readonly log: Logger;
  private readonly beat: NodeJS.Timeout;

  constructor(private readonly options: PublisherOptions) {
    this.log = options.log.child({ bus: 'publisher' });
    this.snapshots = new SnapshotThrottle(options.hub.seq, options.snapshotMs, options.maxLen);
    if (options.copy) this.barLog.adopt(options.copy);
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
    return this.pending.length + (this.inFlight?.events ?? 0);
  }

  /** Whether Redis takes what this ingest publishes: failing, or answering too slowly. */
  get health(): PublishHealth {
    const now = Date.now();
    const { failure } = this.retries;
    if (failure) return { ok: false, error: failure.error, forMs: now - failure.since };
    const waited = this.inFlight ? now - this.inFlight.since : 0;
    return waited > SLOW_MS
      ? { ok: false, error: `Redis has not answered a publish for ${waited} ms`, forMs: waited }
      : { ok: true };
  }

  /** Stops following the hub and sends what is queued, with the snapshot, if Redis is up. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.subscription.unsubscribe();
    this.options.redis.off('ready', this.onReconnect);
    this.clearTimers();
    await this.inFlight?.done;
    this.snapshots.force();
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
    // The stream will not continue where edges are: the snapshot that goes with the gap resyncs them.
    this.snapshots.force();
    this.gap = true;
    if (!this.dropping)
      this.log.warn(
        { dropped, kept: maxLen },
        'Redis unreachable for longer than the stream holds: oldest unpublished events dropped; edges will resync',
      );
    this.dropping = true;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || this.stopped || this.retries.waiting) return;
    this.scheduled = true;
    // One script per tick: the events of one frame go out together.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private flush(): Promise<void> {
    const { redis } = this.options;
    if (this.inFlight || this.stopped || this.retries.waiting || redis.status !== 'ready')
      return Promise.resolve();
    const snapshot = this.snapshots.wants(this.options.hub.seq);
    if (this.pending.length === 0 && !snapshot && this.status === undefined) {
      // The snapshot timer may fire a little before its time as the throttle's clock reads it
      // (timers count from the loop's cached time, which a long turn leaves behind): the
      // snapshot is then still owed, and nothing else would bring it.
      this.snapshotLater();
      return Promise.resolve();
    }
    const events = this.pending.length;
    const done = this.send(snapshot).finally(() => {
      this.inFlight = undefined;
      this.afterSend();
    });
    this.inFlight = { since: Date.now(), done, events };
    return done;
  }

  private async send(withSnapshot: boolean): Promise<void> {
    const { redis, keys, hub, lease } = this.options;
    const batch = this.pending;
    const status = this.status;
    this.pending = [];
    this.status = undefined;
    const seq = hub.seq;
    const snapshot = withSnapshot ? this.snapshot() : undefined;
    // A long batch (a history re-sent) goes out ahead of the publish, a command at a time.
    const ahead = Math.max(0, batch.length - EVENTS_PER_COMMAND);
    const into: AheadInto = snapshot && this.gap ? 'next' : 'stream';
    // Most batches are short: they go whole, without a copy.
    const sent = ahead > 0 ? batch.slice(ahead) : batch;
    const staged = ahead > 0 && into === 'next';
    let reply: PublishReply | undefined;
    /** Events Redis took onto the stream ahead of the publish. */
    let onStream = 0;
    try {
      if (snapshot) await writeBarPieces(redis, keys, lease.holder, snapshot.bars, this.answered);
      if (ahead > 0) onStream = await this.sendAhead(batch.slice(0, ahead), into);
      reply = await publish(
        redis,
        keys,
        this.publishCall(sent, status, snapshot && { ...snapshot, seq }, staged),
      );
    } catch (err) {
      this.requeue(batch.slice(onStream), status);
      // A day of bars dropped while its pieces were written (a new day): no fault, the next
      // snapshot writes the bars as they are now.
      if (err instanceof BarLogChanged) return this.snapshots.force();
      // Not taken (refused, or the link failed), or taken and the reply lost: the next try's
      // reply says which.
      return this.fail(err);
    } finally {
      if (reply?.kind !== 'ok') this.dropAside(snapshot?.bars, staged);
    }
    if ('by' in reply) {
      this.stopPublishing(
        { by: reply.by, unpublished: batch.length + this.pending.length },
        reply.kind === 'fenced'
          ? 'another ingest took the lease while this one was frozen or cut off: this ingest stops publishing so no seq is used twice'
          : 'Redis holds a newer epoch’s stream: this ingest stops publishing',
      );
      return;
    }
    if (reply.kind === 'ok') {
      this.options.metrics.events.inc({ direction: 'published' }, batch.length - onStream);
      if (snapshot) {
        this.snapshots.written(seq);
        this.barLog.taken(snapshot.bars);
      }
      this.dropping = false;
      this.gap = false;
      this.mismatches = 0;
      return this.recovered();
    }
    this.requeue(batch.slice(onStream), status);
    this.mismatch(reply.kind, reply.seq);
  }

  /** The publish of `events` (a batch, or its tail), encoded now, with what goes with them. */
  private publishCall(
    events: readonly Queued[],
    status: StatusMessage | undefined,
    snapshot: { json: string; bars: BarLogWrite; seq: number } | undefined,
    staged: boolean,
  ): PublishCall {
    const { gen, maxLen, lease } = this.options;
    return {
      holder: lease.holder,
      leaseMs: lease.ms,
      gen,
      maxLen,
      firstSeq: events[0]?.seq ?? 0,
      gap: this.gap,
      events: events.map(queuedJson),
      ...(staged && { staged }),
      ...(status && { status: encodeStatus(status) }),
      ...(snapshot && { snapshot: { json: snapshot.json, seq: snapshot.seq }, bars: snapshot.bars }),
    };
  }

  /**
   * Writes `events`, the head of a long batch, ahead of the publish that sends its tail; returns
   * how many went onto the stream itself (none go there when `into` is the next stream).
   */
  private async sendAhead(events: readonly Queued[], into: AheadInto): Promise<number> {
    const { redis, keys, gen, maxLen, lease, metrics } = this.options;
    const write = { holder: lease.holder, gen, maxLen, into, firstSeq: events[0]!.seq };
    const taken = await writeEventsAhead(redis, keys, write, events, queuedJson, this.answered);
    if (into === 'next') return 0;
    // Onto the stream they are published, whatever the publish answers.
    metrics.events.inc({ direction: 'published' }, taken);
    return taken;
  }

  /** A new bar log or next stream written aside that no publish took is dropped, not left to expire. */
  private dropAside(bars: BarLogWrite | undefined, staged: boolean | undefined): void {
    const { redis, keys } = this.options;
    if (bars?.reset) redis.unlink(newLogKey(keys, bars.id)).catch(() => undefined);
    if (staged) redis.unlink(nextStreamKey(keys)).catch(() => undefined);
  }

  /**
   * The snapshot as Redis keeps it, with what its bar log gained since the last one Redis took:
   * the snapshot carries each series' latest bar, the log the bars before.
   */
  private snapshot(): { json: string; bars: BarLogWrite } {
    const { hub, gen } = this.options;
    const bars = this.barLog.write(hub.barCopy);
    const latest = hub.barCopy.latestBars();
    const state: ClusterState = {
      gen,
      epoch: hub.epoch,
      seq: hub.seq,
      quotes: hub.snapshot(),
      headlines: hub.latestHeadlines(),
      bars: latest.bars,
      barSeqs: latest.seqs,
      barLog: bars.ref,
    };
    return { json: encodeClusterState(state), bars };
  }

  /** Redis answered a command of the publish under way: a new log takes many, each counts. */
  private readonly answered = (): void => {
    if (this.inFlight) this.inFlight.since = Date.now();
  };

  private requeue(batch: Queued[], status: StatusMessage | undefined): void {
    this.pending = [...batch, ...this.pending];
    this.status ??= status;
  }

  /** Redis does not hold what this ingest expected: send from where it stands, with a snapshot. */
  private mismatch(kind: 'at' | 'nostate', at: number): void {
    const { hub } = this.options;
    if (kind === 'at' && at > hub.seq) {
      this.stopPublishing(
        { theirs: at, ours: hub.position },
        'Redis holds another ingest’s events past this one’s: this ingest stops publishing so no seq is used twice',
      );
      return;
    }
    this.snapshots.force();
    // Redis lacks the state, or the bar log this ingest wrote: the next snapshot writes it whole.
    if (kind === 'nostate') this.barLog.lost();
    if (kind === 'at') {
      this.seed(at);
    }
    if (++this.mismatches >= MISMATCHES_BEFORE_BACKOFF)
      return this.fail(new Error(`Redis's stream does not continue this ingest's (it holds seq ${at})`));
    if (kind === 'nostate' || at === 0)
      this.log.warn(
        { epoch: hub.epoch, seq: hub.seq, republishing: this.pending.length },
        'Redis holds no snapshot or none of this epoch’s events (restarted empty?): re-seeding snapshot and recent events',
      );
    else
      this.log.info(
        { redisSeq: at, seq: hub.seq, publishing: this.pending.length },
        'Redis’s stream ends before this ingest’s: publishing the events it missed',
      );
  }

  private fail(err: unknown): void {
    this.options.metrics.publishErrors.inc();
    const error = err instanceof Error ? err.message : String(err);
    if (this.retries.fail(error))
      this.log.warn(
        { err, unpublished: this.pending.length },
        'publish to Redis failed; retrying with backoff (events stay queued)',
      );
  }

  private recovered(): void {
    const failedForMs = this.retries.succeed();
    if (failedForMs !== undefined) this.log.info({ failedForMs }, 'Redis takes this ingest’s events again');
  }

  /** After a send: go on with what queued meanwhile, and make sure a snapshot follows a quiet spell. */
  private afterSend(): void {
    if (this.stopped || this.retries.waiting) return;
    if (this.pending.length > 0 || this.status !== undefined || this.snapshots.forced) return this.schedule();
    this.snapshotLater();
  }

  /** Sets a timer for the snapshot a quiet spell owes, unless one is set or none is owed. */
  private snapshotLater(): void {
    const dueIn = this.snapshots.dueIn(this.options.hub.seq);
    if (dueIn !== undefined && !this.snapshotTimer)
      this.snapshotTimer = setTimeout(() => {
        this.snapshotTimer = undefined;
        this.schedule();
      }, dueIn).unref();
  }

  private clearTimers(): void {
    clearInterval(this.beat);
    this.retries.cancel();
    clearTimeout(this.snapshotTimer);
    this.snapshotTimer = undefined;
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
    if (this.stopped) return;
    this.log.error(fields, why);
    this.stopped = true;
    this.subscription.unsubscribe();
    this.clearTimers();
    // For good: /healthz says so until this process is stopped.
    this.retries.halt(why);
  }

  /** After a reconnect: whatever Redis lost meanwhile, the next publish finds out and re-sends. */
  private readonly onReconnect = () => {
    this.renewLease();
    this.snapshots.force();
    this.status ??= this.options.hub.status;
    this.retries.cancel();
    this.schedule();
  };

  /** Queues everything Redis lacks after `seq` (nothing held: all recent events), state and status. */
  private seed(seq = 0): void {
    this.pending = this.unpublished(seq);
    // What the hub no longer holds cannot be sent: the snapshot covers it.
    this.gap = (this.pending[0]?.seq ?? this.options.hub.seq + 1) > seq + 1;
    this.snapshots.force();
    this.status = this.options.hub.status;
  }

  /**
   * Events after `seq`, from what the hub holds and what is queued, oldest first, without repeats:
   * the newest consecutive run of them (one publish sends consecutive seqs; the snapshot that
   * goes with it covers what is missing before).
   */
  private unpublished(seq: number): Queued[] {
    const firstQueued = this.pending[0]?.seq ?? Infinity;
    const fromHub = firstQueued > seq + 1 ? heldEvents(this.options.hub, seq, firstQueued) : [];
    const events = [...fromHub, ...this.pending.filter((m) => m.seq > seq)].slice(-this.options.maxLen);
    let start = events.length - 1;
    while (start > 0 && events[start - 1]!.seq === events[start]!.seq - 1) start--;
    return events.slice(Math.max(0, start));
  }
}
