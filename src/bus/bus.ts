import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Hub } from '../hub/hub.ts';
import { createBusMetrics, type BusMetrics } from './bus-metrics.ts';
import { Follower } from './follower.ts';
import { servesFromStream, type HubRoles } from './hub-roles.ts';
import { IngestLease } from './lease.ts';
import { redactUrl, type BusConfig, type BusRole } from './options.ts';
import { Publisher, type PublishHealth } from './publisher.ts';
import { badEntryReporter } from './stream-codec.ts';
import {
  busKeys,
  connectRedis,
  headOf,
  linkState,
  loadCluster,
  restoreCluster,
  whenReady,
  type BusLinkState,
  type LoadLimits,
} from './redis-store.ts';

/** What `/healthz` and `/readyz` report about the bus. */
export interface BusHealth {
  role: BusRole;
  redis: BusLinkState;
  /** Whether the served hub holds the cluster's state (edge, all). */
  synced?: boolean;
  /** Whether an ingest holds its lease (edge, all): `gone` while none publishes. */
  ingest?: 'publishing' | 'gone';
  /** Stream entries the served hub is behind the head (edge, all). */
  lag?: number;
  /** Whether the served hub is reloading the cluster's state, its numbers behind meanwhile (edge, all). */
  resyncing?: boolean;
  /** Events stamped here that Redis has not confirmed (ingest, all). */
  unpublished?: number;
  /** Whether Redis takes this ingest's events (ingest, all). */
  publish?: PublishHealth;
}

/** A running bus: the ingest side, the edge side or both. */
export interface Bus {
  readonly role: BusRole;
  health(): BusHealth;
  /**
   * Something clients would notice is wrong: a Redis link down, events Redis does not take (or
   * answers too slowly), no ingest publishing, or an edge not holding the cluster's state (or
   * reloading it).
   */
  degraded(): boolean;
  /** Up, and (when serving from the stream) holding the cluster's state. */
  ready(): boolean;
  /** Publishes what is queued, stops following and closes the Redis connections; safe to call twice. */
  close(): Promise<void>;
}

/** What a bus needs from the process. */
export interface BusContext {
  /** Which hub the bus publishes (the stamping one) and which it feeds from the stream (a served one that does not stamp). */
  hubs: HubRoles;
  /** The history and headlines a hub loaded from Redis keeps. */
  limits: LoadLimits;
  log: Logger;
  /** Where the bus metrics go (the server's registry). */
  registry: Registry;
}

const connect = async (config: BusConfig, name: string, log: Logger): Promise<Redis> => {
  const redis = connectRedis(config.url, `tickstream-${name}`, log);
  if (redis.status !== 'ready') log.info({ bus: name, url: redactUrl(config.url) }, 'waiting for Redis');
  await whenReady(redis);
  return redis;
};

/** Continues the cluster's epoch and seq from Redis, or starts a new epoch when Redis has none. */
const startIngest = async (config: BusConfig, hub: Hub, ctx: BusContext, metrics: BusMetrics) => {
  const redis = await connect(config, 'ingest', ctx.log);
  const keys = busKeys(config.prefix);
  // Taken before reading the cluster: another ingest may still be publishing to it.
  const lease = new IngestLease(redis, keys.ingest, config.leaseMs, ctx.log);
  try {
    await lease.acquire();
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  const loaded = await loadCluster(redis, keys, ctx.limits, badEntryReporter(ctx.log, metrics));
  const { cluster } = loaded;
  const head = cluster && headOf(cluster);
  // A hub its data dir restored past what Redis holds (Redis lost writes) keeps its own events:
  // taking Redis's older state would hand out those seqs a second time.
  const ahead = head !== undefined && head.epoch === hub.epoch && hub.seq > head.seq;
  if (cluster && !ahead) {
    restoreCluster(hub, cluster);
    ctx.log.info({ epoch: hub.epoch, seq: hub.seq }, 'ingest continues the cluster epoch and seq from Redis');
  }
  // Epoch numbers only grow, so edges still reading an old epoch's stream ids see a new one.
  const gen = cluster?.gen ?? Math.max(Date.now(), loaded.topGen + 1);
  const { maxLen, snapshotMs } = config;
  const publisher = new Publisher({
    hub,
    redis,
    keys,
    gen,
    maxLen,
    snapshotMs,
    lease,
    log: ctx.log,
    metrics,
    ...(cluster?.copy && !ahead && { copy: cluster.copy }),
  });
  if (!cluster || ahead) {
    await publisher.announce(head?.seq);
    ctx.log.info(
      { epoch: hub.epoch, seq: hub.seq, redisSeq: head?.seq },
      cluster
        ? 'ingest is ahead of Redis: published what Redis lacked'
        : 'Redis held no cluster state: ingest published its epoch',
    );
  }
  return { redis, publisher };
};

/** Loads the snapshot and recent events into the served hub and follows the stream. */
const startEdge = async (config: BusConfig, hub: Hub, ctx: BusContext, metrics: BusMetrics) => {
  const redis = await connect(config, 'edge', ctx.log);
  const keys = busKeys(config.prefix);
  // The hub's own limits: a load reads the history until the stream ends (it holds at most
  // --bus-maxlen events), and the history it builds goes on to hold --history-size.
  const { limits } = ctx;
  const loaded = await loadCluster(redis, keys, limits, badEntryReporter(ctx.log, metrics));
  return {
    redis,
    follower: new Follower({ hub, redis, keys, limits, log: ctx.log, metrics }, loaded),
  };
};

/**
 * Joins the Redis cluster with the roles `ctx.hubs` assigns: the stamping hub, if any, is
 * published; a served hub that does not stamp is fed from the stream.
 */
export const startBus = async (config: BusConfig, ctx: BusContext): Promise<Bus> => {
  let follower: Follower | undefined;
  let publisher: Publisher | undefined;
  const links: Redis[] = [];
  const metrics = createBusMetrics(ctx.registry, {
    up: () => links.every((r) => r.status === 'ready'),
    lag: () => follower?.lag,
    ingest: () => follower?.ingest,
  });
  const { stamping, served } = ctx.hubs;
  let ingestLink: Redis | undefined;
  let edgeLink: Redis | undefined;
  if (stamping) {
    ({ redis: ingestLink, publisher } = await startIngest(config, stamping, ctx, metrics));
    links.push(ingestLink);
  }
  if (servesFromStream(ctx.hubs)) {
    ({ redis: edgeLink, follower } = await startEdge(config, served, ctx, metrics));
    links.push(edgeLink);
  }
  const redisState = (): BusLinkState => {
    const states = links.map(linkState);
    return states.find((s) => s !== 'up') ?? 'up';
  };
  let closing: Promise<void> | undefined;
  const health = (): BusHealth => ({
    role: config.role,
    redis: redisState(),
    ...(follower && {
      synced: follower.synced,
      ...(follower.ingest !== undefined && { ingest: follower.ingest ? 'publishing' : 'gone' }),
      ...(follower.lag !== undefined && { lag: follower.lag }),
      resyncing: follower.resyncing,
    }),
    ...(publisher && { unpublished: publisher.backlog, publish: publisher.health }),
  });
  return {
    role: config.role,
    health,
    degraded: () => {
      const h = health();
      return (
        h.redis !== 'up' ||
        h.publish?.ok === false ||
        h.ingest === 'gone' ||
        h.synced === false ||
        h.resyncing === true
      );
    },
    ready: () => redisState() === 'up' && (follower?.synced ?? true),
    close: () =>
      (closing ??= (async () => {
        await publisher?.close();
        await ingestLink?.quit().catch(() => ingestLink?.disconnect());
        const followed = follower?.close();
        // QUIT would wait behind the blocked XREAD; dropping the socket ends it now.
        edgeLink?.disconnect();
        await followed;
      })()),
  };
};
