/**
 * `npx tsx bench/reseed.ts [--events N --rounds N]`: how long an ingest re-seeding an empty
 * Redis with its history holds its own loop (which serves its clients) and Redis (which serves
 * every edge). The hub holds `--events` quote events (default 100,000: `--history-size`'s and
 * `--bus-maxlen`'s default); Redis, its own, is emptied before each round. The way it is done
 * (`Publisher.announce`: the events written ahead, 5,000 a command, each batch encoded in a turn
 * of its own) runs beside the way it was (the peer: the history decoded, every event encoded
 * and sent with the snapshot in one publish), `--rounds` times each in turn (default 3). Prints
 * each one's wall time, the longest turn of this process's loop (a `setImmediate` ticker) and
 * Redis's longest command (its SLOWLOG).
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { createBusMetrics } from '../src/bus/bus-metrics.ts';
import { IngestLease } from '../src/bus/lease.ts';
import { publish } from '../src/bus/publish-script.ts';
import { Publisher } from '../src/bus/publisher.ts';
import { busKeys, type BusKeys } from '../src/bus/redis-store.ts';
import { encodeClusterState } from '../src/bus/stream-codec.ts';
import { eventJson } from '../src/hub/event-json.ts';
import { startRedis } from '../test/bus/redis-server.ts';
import { eventsAndRounds, fullHistoryHub } from './full-history.ts';
import { withTicker } from './loop-turns.ts';

const { events, rounds } = eventsAndRounds(3);
const hub = fullHistoryHub(events);

const redis = await startRedis();
const log = pino({ level: 'warn' });
const GEN = 1;

/**
 * As it was: the history decoded (when the publisher queued it), then in the next turn encoded
 * again and sent with the snapshot in one publish.
 */
const onePublish = async (link: ReturnType<typeof redis.admin>, keys: BusKeys, lease: IngestLease) => {
  const state = hub.exportState('latest');
  await new Promise((resolve) => setImmediate(resolve));
  const { epoch, seq, quotes, headlines, bars, barSeqs } = state;
  const reply = await publish(link, keys, {
    holder: lease.holder,
    leaseMs: lease.ms,
    gen: GEN,
    maxLen: events,
    firstSeq: state.history[0]!.seq,
    gap: true,
    events: state.history.map(eventJson),
    snapshot: { json: encodeClusterState({ gen: GEN, epoch, seq, quotes, headlines, bars, barSeqs }), seq },
  });
  if (reply.kind !== 'ok') throw new Error(`one publish: ${reply.kind}`);
};

/** As it is: the publisher's own announce, awaited until Redis holds everything. */
const announce = async (link: ReturnType<typeof redis.admin>, keys: BusKeys, lease: IngestLease) => {
  const metrics = createBusMetrics(new Registry(), { up: () => true, lag: () => 0, ingest: () => true });
  const publisher = new Publisher({
    hub,
    redis: link,
    keys,
    gen: GEN,
    maxLen: events,
    snapshotMs: 60_000,
    lease,
    log,
    metrics,
  });
  await publisher.announce(0);
  while (publisher.backlog > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await publisher.close();
};

const round = async (name: string, work: typeof announce) => {
  const admin = redis.admin();
  await admin.flushall();
  await admin.config('SET', 'slowlog-log-slower-than', '1000');
  await admin.slowlog('RESET');
  const link = redis.admin();
  const keys = busKeys('bench');
  const lease = new IngestLease(link, keys.ingest, 10_000, log);
  await lease.acquire();
  const { ms, longest } = await withTicker(() => work(link, keys, lease));
  const held = await admin.xlen(keys.events);
  if (held !== events) throw new Error(`${name}: the stream holds ${held} events, not ${events}`);
  const slow = (await admin.slowlog('GET', 1000)) as [number, number, number][];
  const redisMs = Math.max(0, ...slow.map(([, , micros]) => micros / 1000));
  console.log(
    `${name.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms; longest turn ${longest.toFixed(0).padStart(4)} ms; ` +
      `Redis's longest command ${redisMs.toFixed(0).padStart(4)} ms`,
  );
};

try {
  console.log(`${events.toLocaleString('en')} events re-seeded into an empty Redis`);
  for (let r = 0; r < rounds; r++) {
    await round('one publish, decoded, encoded (before)', onePublish);
    await round('written ahead, a command a turn (announce)', announce);
  }
} finally {
  await redis.stop();
}
