import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { HubState } from '../hub/hub.ts';
import type { HubMessage, StatusMessage } from '../protocol/messages.ts';

/** The Redis keys of one cluster. */
export interface BusKeys {
  /** Stream of hub events; entry id `<gen>-<seq>`, field `m` = the message JSON. */
  events: string;
  /** Stream of status changes (no seq: status is not an event), field `s`. */
  status: string;
  /** The snapshot at the stream head: {@link ClusterState} as JSON. */
  state: string;
  /** The ingest's lease: set with a TTL and renewed while an ingest runs, so edges can tell a quiet feed from a dead ingest. */
  ingest: string;
}

/** The keys under `prefix`. */
export const busKeys = (prefix: string): BusKeys => ({
  events: `${prefix}:events`,
  status: `${prefix}:status`,
  state: `${prefix}:state`,
  ingest: `${prefix}:ingest`,
});

/**
 * What the state key holds: the snapshot as of `seq`, written in the same transaction as the
 * events up to `seq`, so a reader that loads it and follows the stream from `<gen>-<seq>` misses
 * nothing. `gen` is the epoch's number in stream ids: a new epoch takes a larger one, so an edge
 * following an old epoch reads straight into the new one and sees the change.
 */
export interface ClusterState {
  gen: number;
  epoch: string;
  seq: number;
  quotes: HubState['quotes'];
  headlines: HubState['headlines'];
  /** The bars of the last trading days, so an edge that joins later answers the same bars. */
  bars?: HubState['bars'];
}

/** A stream entry id from an epoch number and a seq. */
export const entryId = (gen: number, seq: number): string => `${gen}-${seq}`;

/** An event read back from the stream, or the reason it cannot be used. */
export type DecodedEntry = { gen: number; message: HubMessage } | { gen: number; bad: string };

/** Reads one stream entry; a malformed one is reported by the caller, never thrown. */
export const decodeEntry = (id: string, fields: string[]): DecodedEntry => {
  const [genText, seqText] = id.split('-');
  const gen = Number(genText);
  const json = fields[fields.indexOf('m') + 1];
  if (!fields.includes('m') || json === undefined) return { gen, bad: `entry ${id} has no "m" field` };
  try {
    const message = JSON.parse(json) as HubMessage;
    if (message.seq !== Number(seqText)) return { gen, bad: `entry ${id} holds seq ${message.seq}` };
    return { gen, message };
  } catch (err) {
    return { gen, bad: `entry ${id} is not JSON: ${(err as Error).message}` };
  }
};

/** The newest run of consecutive events of `gen` ending at `seq`, oldest first, from newest-first entries. */
const contiguousTail = (newestFirst: [string, string[]][], gen: number, seq: number): HubMessage[] => {
  const out: HubMessage[] = [];
  let want = seq;
  for (const [id, fields] of newestFirst) {
    const entry = decodeEntry(id, fields);
    if (!('message' in entry) || entry.gen !== gen || entry.message.seq !== want) break;
    out.push(entry.message);
    want--;
  }
  return out.reverse();
};

/** What a process starting against a cluster finds in Redis. */
export interface Loaded {
  /** The cluster's snapshot with the events the stream still holds as history; absent when Redis has none. */
  state?: HubState & { gen: number };
  /** The latest status the ingest published, and its stream id to follow from. */
  status?: { message: StatusMessage; id: string };
  /** The largest epoch number in the event stream, so a new epoch takes a larger one. */
  topGen: number;
}

/**
 * Loads the snapshot, the newest `historySize` events and the latest status in one transaction,
 * so the history ends exactly at the snapshot's seq.
 */
export const loadCluster = async (redis: Redis, keys: BusKeys, historySize: number): Promise<Loaded> => {
  const replies = await redis
    .multi()
    .get(keys.state)
    .xrevrange(keys.events, '+', '-', 'COUNT', Math.max(1, historySize))
    .xrevrange(keys.status, '+', '-', 'COUNT', 1)
    .exec();
  const [stateReply, eventsReply, statusReply] = (replies ?? []).map(([err, value]) => {
    if (err) throw err;
    return value;
  });
  const entries = (eventsReply ?? []) as [string, string[]][];
  const topGen = entries[0] ? Number(entries[0][0].split('-')[0]) : 0;
  const statuses = (statusReply ?? []) as [string, string[]][];
  const [statusId, statusFields] = statuses[0] ?? [];
  const status =
    statusId && statusFields?.[1]
      ? { id: statusId, message: JSON.parse(statusFields[1]) as StatusMessage }
      : undefined;
  if (typeof stateReply !== 'string') return { topGen, ...(status && { status }) };
  const cluster = JSON.parse(stateReply) as ClusterState;
  const history = historySize > 0 ? contiguousTail(entries, cluster.gen, cluster.seq) : [];
  return { state: { ...cluster, history }, topGen, ...(status && { status }) };
};

/** Connection health as `/healthz` and `/readyz` report it. */
export type BusLinkState = 'connecting' | 'up' | 'down' | 'closed';

const everUp = new WeakSet<Redis>();

/**
 * A Redis connection that reconnects by itself (ioredis, capped backoff) and fails commands at
 * once while it is down, so callers decide what to replay instead of ioredis resending blindly.
 */
export const connectRedis = (url: string, name: string, log: Logger): Redis => {
  const redis = new Redis(url, {
    connectionName: name,
    // RESP2 keeps XREAD replies as [stream, entries] pairs.
    protocol: 2,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
  });
  let wasUp = false;
  redis.on('ready', () => {
    log.info({ bus: name }, everUp.has(redis) ? 'bus reconnected to Redis' : 'bus connected to Redis');
    everUp.add(redis);
    wasUp = true;
  });
  redis.on('error', (err: Error) => log.debug({ bus: name, err }, 'Redis connection error'));
  redis.on('reconnecting', () => {
    if (wasUp) log.warn({ bus: name }, 'bus lost Redis; reconnecting');
    wasUp = false;
  });
  return redis;
};

/** The state of a connection from {@link connectRedis}. */
export const linkState = (redis: Redis): BusLinkState =>
  redis.status === 'ready'
    ? 'up'
    : redis.status === 'end'
      ? 'closed'
      : everUp.has(redis)
        ? 'down'
        : 'connecting';

/** Resolves when the connection is ready; rejects when it is closed for good. */
export const whenReady = (redis: Redis): Promise<void> =>
  new Promise((resolve, reject) => {
    if (redis.status === 'ready') return resolve();
    if (redis.status === 'end') return reject(new Error('Redis connection closed'));
    const onReady = () => {
      redis.off('end', onEnd);
      resolve();
    };
    const onEnd = () => {
      redis.off('ready', onReady);
      reject(new Error('Redis connection closed'));
    };
    redis.once('ready', onReady);
    redis.once('end', onEnd);
  });
