import { Redis } from 'ioredis';
import { TickstreamError } from '../errors.ts';
import type { Logger } from 'pino';
import { restoredParts, type Hub, type HubOptions, type HubState, type RestoredParts } from '../hub/hub.ts';
import { runBetweenTurns } from '../hub/steps.ts';
import type { HubMessage, StatusMessage } from '../protocol/messages.ts';
import { barLogSteps, type BarLogRef, type LoggedBars } from '../hub/bar-log-copy.ts';
import { BarStore } from '../hub/bar-store.ts';
import {
  decodeClusterState,
  decodeEvent,
  decodeStatus,
  entryId,
  parseEntryId,
  type BadEntryReport,
  type StreamEntry,
} from './stream-codec.ts';

/** The Redis keys of one cluster. */
export interface BusKeys {
  /** Stream of hub events; entry id `<gen>-<seq>`, field `m` = the message JSON. */
  events: string;
  /** Stream of status changes (no seq: status is not an event), field `s`. */
  status: string;
  /** The snapshot at the stream head: {@link ClusterState} as JSON. */
  state: string;
  /**
   * The bars of the snapshot's days before each series' latest (a hash: pieces of each day's
   * log, `<day>:<k>`, and the copy's `id`), written bit by bit with the snapshots (BarLogCopy).
   */
  bars: string;
  /** The ingest's lease: set with a TTL and renewed while an ingest runs, so edges can tell a quiet feed from a dead ingest. */
  ingest: string;
}

/** The field of the bar log's hash that names its copy, so a writer knows the copy it extends is its own. */
export const LOG_ID_FIELD = 'id';

/** Where a new bar log is written before a publish puts it in the place of `keys.bars`. */
export const newLogKey = (keys: BusKeys, id: string): string => `${keys.bars}:${id}`;

/**
 * Where a publish's events are written ahead of it when they will not continue the stream (a
 * snapshot covers the gap): the publish that carries the snapshot renames it to `keys.events`.
 */
export const nextStreamKey = (keys: BusKeys): string => `${keys.events}:next`;

/** The bar log hash's field of piece `k` of `day`. */
export const pieceField = (day: string, k: number): string => `${day}:${k}`;

/** The keys under `prefix`. */
export const busKeys = (prefix: string): BusKeys => ({
  events: `${prefix}:events`,
  status: `${prefix}:status`,
  state: `${prefix}:state`,
  bars: `${prefix}:bars`,
  ingest: `${prefix}:ingest`,
});

/**
 * What the state key holds: the snapshot as of `seq`, written in the same script as the event
 * `seq` (now and then, not with every batch); a reader that loads it applies the stream's events
 * after `seq`, then follows the stream from its head, and misses nothing. `gen` is the epoch's
 * number in stream ids: a new epoch takes a larger one, so an edge following an old epoch reads
 * straight into the new one and sees the change.
 */
export interface ClusterState {
  gen: number;
  epoch: string;
  seq: number;
  quotes: HubState['quotes'];
  headlines: HubState['headlines'];
  /**
   * The bars of the last trading days, so an edge that joins later answers the same bars: with
   * `barLog`, each series' latest bar only, the earlier ones being in the bar log's pieces.
   */
  bars?: HubState['bars'];
  /** The seq that last changed each of `bars`, so a resume on that edge gets the same candles. */
  barSeqs?: HubState['barSeqs'];
  /** Which pieces of the bar log (`BusKeys.bars`) hold this snapshot's earlier bars. */
  barLog?: BarLogRef;
}

/**
 * The events of `gen` from `first` on while they run on consecutively, from entries in the
 * order given (`step` -1 for newest first); a malformed entry ends the run and is reported.
 */
const consecutive = (
  entries: StreamEntry[],
  gen: number,
  first: number,
  step: 1 | -1,
  report: BadEntryReport,
): HubMessage[] => {
  const out: HubMessage[] = [];
  for (const entry of entries) {
    const decoded = decodeEvent(entry);
    if (!decoded.ok) report(decoded.problem);
    if (!decoded.ok || decoded.value.gen !== gen || decoded.value.message.seq !== first + step * out.length)
      break;
    out.push(decoded.value.message);
  }
  return step === 1 ? out : out.reverse();
};

/** The cluster as Redis holds it: its snapshot, and the events after it to the stream head. */
export interface LoadedCluster {
  gen: number;
  /** The snapshot, its bar log's bars in it, with the events the stream holds up to it as history. */
  snapshot: HubState;
  /** The events after the snapshot, to the stream head. */
  run: HubMessage[];
  /** The snapshot's bars and history already put into stores, a step a turn of the loop, for `Hub.restore`. */
  parts: RestoredParts;
  /**
   * The bar log the snapshot's bars were read from: once the snapshot is restored, the hub's day
   * logs begin with its bars, so an ingest can go on writing it (`BarLogCopy.adopt`).
   */
  copy?: LoggedBars;
}

/** The epoch and seq at the stream head. */
export const headOf = ({ snapshot, run }: LoadedCluster): { epoch: string; seq: number } => ({
  epoch: snapshot.epoch,
  seq: snapshot.seq + run.length,
});

/**
 * Puts a loaded cluster into `hub`: the snapshot, then the events after it, accepted as live ones
 * are, so the rules are the hub's own. Into the hub itself: rolling a scratch hub forward and
 * restoring from its export went three times over days of bars, in one turn of the loop.
 */
export const restoreCluster = (hub: Hub, { snapshot, run, parts }: LoadedCluster): void => {
  hub.restore(snapshot, parts);
  for (const m of run) hub.accept(m);
};

/** What a process starting against a cluster finds in Redis. */
export interface Loaded {
  /** The cluster's state (see {@link restoreCluster}); absent when Redis has none. */
  cluster?: LoadedCluster;
  /** The latest status the ingest published, and its stream id to follow from. */
  status?: { message: StatusMessage; id: string };
  /** The largest epoch number in the event stream, so a new epoch takes a larger one. */
  topGen: number;
}

/** What a loaded hub keeps: its history bound and headline count. */
export type LoadLimits = Pick<HubOptions, 'history' | 'headlineCount' | 'barDays'>;

/**
 * How long a load waits for a newer snapshot when the stream was trimmed past the one it read
 * (XTRIM by hand, a tiny --bus-maxlen): a live ingest writes one within --bus-snapshot.
 */
const TRIMMED_WAIT_MS = 30_000;

const execAll = async (multi: ReturnType<Redis['multi']>): Promise<unknown[]> =>
  ((await multi.exec()) ?? []).map(([err, value]) => {
    if (err) throw err;
    return value;
  });

/** The snapshot as Redis holds it (unread), the latest status and the stream head's generation. */
const readHead = async (redis: Redis, keys: BusKeys, report: BadEntryReport) => {
  const [stateReply, statusReply, topReply] = await execAll(
    redis
      .multi()
      .get(keys.state)
      .xrevrange(keys.status, '+', '-', 'COUNT', 1)
      .xrevrange(keys.events, '+', '-', 'COUNT', 1),
  );
  const [statusEntry] = (statusReply ?? []) as StreamEntry[];
  const status = statusEntry && decodeStatus(statusEntry);
  if (status && !status.ok) report(status.problem);
  const [top] = (topReply ?? []) as StreamEntry[];
  const topGen = (top && parseEntryId(top[0])?.gen) ?? 0;
  const base = { topGen, ...(status?.ok && { status: { id: statusEntry![0], message: status.value } }) };
  return { stateReply, base };
};

/**
 * A snapshot whose events or bar log are gone was replaced meanwhile, or is about to be: waits
 * a little longer each try before reading again, until a newer one has had its time (`fault`).
 */
const waitForNewer = async (started: number, tries: number, fault: () => Error): Promise<void> => {
  if (Date.now() - started > TRIMMED_WAIT_MS) throw fault();
  await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** tries)));
};

/**
 * Loads the cluster: the snapshot (written now and then, not per batch), the events after it,
 * which roll it forward to the stream head, the newest events as history, and the latest status.
 */
export const loadCluster = async (
  redis: Redis,
  keys: BusKeys,
  limits: LoadLimits,
  report: BadEntryReport,
): Promise<Loaded> => {
  const started = Date.now();
  for (let tries = 0; ; tries++) {
    const { stateReply, base } = await readHead(redis, keys, report);
    if (typeof stateReply !== 'string') return base;
    const decoded = decodeClusterState(stateReply);
    // An unreadable snapshot is as good as none: an ingest publishes a new one over it.
    if (!decoded.ok) {
      report(decoded.problem);
      return base;
    }
    const snapshot = decoded.value;
    // Ids are immutable and only trimmed from the old end, so reading on after the snapshot in a
    // second step is safe, unless the trim passed the snapshot meanwhile (then read again). Under
    // one id a bar log piece never changes once written: a piece gone or a new id means a newer
    // snapshot replaced this one's log (then read again).
    const afterReply = await redis.xrange(keys.events, entryId(snapshot.gen, snapshot.seq + 1), '+');
    const logged: Partial<LoggedLog> | undefined = snapshot.barLog
      ? await readLogInto(limits, snapshot.barLog, await readLog(redis, keys.bars, snapshot.barLog), report)
      : {};
    if (!logged) {
      await waitForNewer(
        started,
        tries,
        () =>
          new TickstreamError(
            'bus_bars',
            `the bar log ${keys.bars} does not hold the pieces the snapshot names, and no newer snapshot came: is an ingest running?`,
          ),
      );
      continue;
    }
    const { store, copy } = logged;
    const after = (afterReply ?? []) as StreamEntry[];
    const run = consecutive(after, snapshot.gen, snapshot.seq + 1, 1, report);
    if (run.length === 0 && after[0] && parseEntryId(after[0][0])?.gen === snapshot.gen) {
      await waitForNewer(
        started,
        tries,
        () =>
          new TickstreamError(
            'bus_trimmed',
            `the stream ${keys.events} no longer holds the events after the snapshot (seq ${snapshot.seq}) and no newer snapshot came: is an ingest running?`,
          ),
      );
      continue;
    }
    // The newest events up to the snapshot, the history a hub holds (with the run after it).
    const held = await readHistory(redis, keys.events, snapshot, limits.history.size - run.length, report);
    const state = { ...snapshot, history: held };
    // An edge reloading serves its clients meanwhile: days of bars are seconds of putting.
    const parts = await runBetweenTurns(restoredParts(limits, state, Date.now(), store));
    const loaded = { gen: snapshot.gen, snapshot: state, run, parts };
    return { ...base, cluster: copy ? { ...loaded, copy } : loaded };
  }
};

/**
 * History entries read per command. The stream holds up to `--bus-maxlen` events (100,000 by
 * default): in one reply Redis would copy them all at once, and the reader parse and check them
 * in one turn of its loop while an edge serves.
 */
export const HISTORY_PER_READ = 5000;

/**
 * The consecutive events of `at.gen` that end with `at.seq`, at most `size` of them, oldest
 * first: read backwards a page a command, each page decoded in a turn of its own. Ids are only
 * trimmed from the old end, so a trim meanwhile ends the history early, never in the middle.
 */
const readHistory = async (
  redis: Redis,
  key: string,
  at: { gen: number; seq: number },
  size: number,
  report: BadEntryReport,
): Promise<HubMessage[]> => {
  const pages: HubMessage[][] = [];
  for (let seq = at.seq, left = size; left > 0 && seq > 0;) {
    const count = Math.min(HISTORY_PER_READ, left);
    const entries = (await redis.xrevrange(key, entryId(at.gen, seq), '-', 'COUNT', count)) as StreamEntry[];
    const page = consecutive(entries, at.gen, seq, -1, report);
    pages.unshift(page);
    if (page.length < count) break;
    seq -= page.length;
    left -= page.length;
  }
  return pages.flat();
};

/** The hash fields of the pieces `log` names. */
const logFields = (log: BarLogRef): string[] =>
  Object.entries(log.days).flatMap(([day, pieces]) =>
    Array.from({ length: pieces }, (_, k) => pieceField(day, k)),
  );

/**
 * Bar log pieces read or written per command. Days of bars are hundreds of MB: in one command
 * Redis would copy them all into one answer (or one argument list), serving no one else
 * meanwhile and holding them in a client's buffer (for every edge reloading at once); a few MB
 * a command it serves the rest between.
 */
export const PIECES_PER_COMMAND = 8;

/**
 * The texts of the pieces `log` names, by field, a few pieces a command; undefined when Redis no
 * longer holds that log (a newer snapshot replaced it: its id changed before the last command).
 */
const readLog = async (
  redis: Redis,
  key: string,
  log: BarLogRef,
): Promise<Map<string, string | undefined> | undefined> => {
  const fields = logFields(log);
  const texts = new Map<string, string | undefined>();
  for (let i = 0; i === 0 || i < fields.length; i += PIECES_PER_COMMAND) {
    const batch = fields.slice(i, i + PIECES_PER_COMMAND);
    const [id, ...values] = await redis.hmget(key, LOG_ID_FIELD, ...batch);
    if (id !== log.id) return undefined;
    batch.forEach((field, k) => texts.set(field, values[k] ?? undefined));
  }
  return texts;
};

/** A bar log read into a store of its own, for the snapshot's latest bars to be added to. */
interface LoggedLog {
  store: BarStore;
  copy: LoggedBars;
}

/**
 * The bar log's pieces from `texts` (by field, as {@link readLog} read them) in a store, and the
 * log as read; undefined when Redis no longer holds that log (a newer snapshot replaced it) or a
 * piece is unreadable (reported).
 */
const readLogInto = async (
  limits: LoadLimits,
  log: BarLogRef,
  texts: Map<string, string | undefined> | undefined,
  report: BadEntryReport,
): Promise<LoggedLog | undefined> => {
  if (!texts) return undefined;
  const store = new BarStore(limits.barDays ?? 0);
  // An edge reloading serves its clients meanwhile: days of bars are seconds of decoding.
  const read = await runBetweenTurns(barLogSteps(log, (day) => (k) => texts.get(pieceField(day, k)), store));
  // A piece gone is a newer snapshot's doing; one that is there but unreadable is damage.
  if (!read.ok && !read.missing) report(read.problem);
  return read.ok ? { store, copy: read } : undefined;
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
