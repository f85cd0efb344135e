import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createBusMetrics } from '../../src/bus/bus-metrics.ts';
import { IngestLease } from '../../src/bus/lease.ts';
import { EVENTS_PER_COMMAND } from '../../src/bus/publish-script.ts';
import { Publisher } from '../../src/bus/publisher.ts';
import { busKeys, connectRedis, loadCluster, nextStreamKey, whenReady } from '../../src/bus/redis-store.ts';
import { EVENT_FIELD } from '../../src/bus/stream-codec.ts';
import { Hub } from '../../src/hub/hub.ts';
import { quietLog, waitFor } from '../helpers.ts';
import { commandsDuring, startRedis, uniquePrefix, type TestRedis } from './redis-server.ts';

const HELD = 2 * EVENTS_PER_COMMAND + 2_000;
const LIMITS = { history: { size: HELD, ageMs: 3_600_000 }, headlineCount: 5, barDays: 0 };

/** A hub of `events` quote events, every one a change, of which history holds the last `HELD`. */
const ingestHub = (events: number) => {
  const hub = new Hub({ ...LIMITS, epoch: 'E' });
  for (let i = 1; i <= events; i++) trade(hub, i);
  return hub;
};
const trade = (hub: Hub, i: number) =>
  hub.apply({
    type: 'quote',
    symbol: `S${i % 100}`,
    ts: new Date(Date.UTC(2023, 10, 8, 4, 31, 0, i % 1000)).toISOString(),
    fields: { kind: 'stock', price: i / 100, change: 1, changePercent: 1, direction: 'up' },
  });

/** The number of arguments the longest script call (EVAL/EVALSHA) took. */
const longestScript = (commands: string[][]) =>
  Math.max(...commands.filter(([c]) => /^eval(sha)?$/i.test(c!)).map((args) => args.length));

/** Announces `hub` from `seq` on, and waits until Redis holds all of it. */
const published = async (publisher: Publisher, hub: Hub, seq = 0) => {
  await publisher.announce(seq);
  await waitFor(() => publisher.backlog === 0 && publisher.health.ok, 'everything published');
};

const renamed = (commands: string[][], key: string) =>
  commands.some(([command, from]) => /^rename$/i.test(command!) && from === key);

// Re-seeding an empty Redis sends the ingest's whole history (100,000 events by default): in one
// publish that held the ingest's loop and Redis for hundreds of milliseconds each.
describe('an ingest re-seeding Redis with a history longer than one command', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  const publisherOf = async (hub: Hub, prefix: string) => {
    const keys = busKeys(prefix);
    const link = connectRedis(redis.url, 'test-reseed', quietLog());
    await whenReady(link);
    const log = quietLog();
    const lease = new IngestLease(link, keys.ingest, 10_000, log);
    await lease.acquire();
    const metrics = createBusMetrics(new Registry(), { up: () => true, lag: () => 0, ingest: () => true });
    const publisher = new Publisher({
      hub,
      redis: link,
      keys,
      gen: 1,
      maxLen: 100_000,
      snapshotMs: 60_000,
      lease,
      log,
      metrics,
    });
    onTestFinished(async () => {
      await publisher.close();
      link.disconnect();
    });
    return { keys, publisher };
  };

  /** What an edge loads: the snapshot's seq and the seqs of the history it reads. */
  const loaded = async (keys: ReturnType<typeof busKeys>) => {
    const { cluster } = await loadCluster(redis.admin(), keys, LIMITS, (problem) => {
      throw new Error(problem);
    });
    return { seq: cluster!.snapshot.seq, history: cluster!.snapshot.history.map((m) => m.seq) };
  };
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('writes the events into a stream of their own, a command at a time, then renames it into place', async () => {
    // History no longer reaches seq 1: the stream must start at its first event, after a gap.
    const hub = ingestHub(HELD + 3_000);
    const { keys, publisher } = await publisherOf(hub, uniquePrefix());
    const commands = await commandsDuring(redis, () => published(publisher, hub));
    expect(longestScript(commands)).toBeLessThan(EVENTS_PER_COMMAND + 100);
    expect(renamed(commands, nextStreamKey(keys))).toBe(true);
    expect(await redis.admin().exists(nextStreamKey(keys))).toBe(0);
    expect(await loaded(keys)).toEqual({ seq: hub.seq, history: range(3_001, hub.seq) });
    const stored = await redis.admin().xrange(keys.events, '-', '+');
    expect(stored.map(([, [, json]]) => json)).toEqual(
      hub.exportState().history.map((m) => JSON.stringify(m)),
    );
  });

  it('adds events that continue the stream onto it, a command at a time', async () => {
    const hub = ingestHub(2_000);
    const prefix = uniquePrefix();
    const first = await publisherOf(hub, prefix);
    await published(first.publisher, hub);
    await first.publisher.close();
    // Redis's stream now ends before the ingest's, with its snapshot in place.
    const stoppedAt = hub.seq;
    for (let i = 1; i <= HELD - 2_000; i++) trade(hub, stoppedAt + i);
    const { keys, publisher } = await publisherOf(hub, prefix);
    const commands = await commandsDuring(redis, () => published(publisher, hub, stoppedAt));
    expect(longestScript(commands)).toBeLessThan(EVENTS_PER_COMMAND + 100);
    expect(renamed(commands, nextStreamKey(keys))).toBe(false);
    expect(await loaded(keys)).toEqual({ seq: hub.seq, history: range(1, hub.seq) });
  });

  it('drops what it wrote aside when the publish is refused, instead of leaving it to expire', async () => {
    const hub = ingestHub(HELD + 3_000);
    const prefix = uniquePrefix();
    const keys = busKeys(prefix);
    // A newer epoch's ingest has published meanwhile: the events written ahead go into the next
    // stream (the fenced check there is the lease, which this ingest holds), and the publish that
    // would rename it into place is refused.
    await redis.admin().xadd(keys.events, '2-1', EVENT_FIELD, '{}');
    const commands = await commandsDuring(redis, async () => {
      // Announced before the publisher's first scheduled flush, which would find the newer epoch.
      const { publisher } = await publisherOf(hub, prefix);
      await publisher.announce();
      await waitFor(() => !publisher.health.ok, 'the publish refused');
    });
    expect(commands.some(([c, key]) => /^xadd$/i.test(c!) && key === nextStreamKey(keys))).toBe(true);
    // Gone at once, not in the minute the next stream and a new bar log live unclaimed.
    await waitFor(
      async () =>
        (await redis.admin().keys(`${prefix}:*`)).sort().join() === [keys.events, keys.ingest].sort().join(),
      'only the newer stream and the lease left',
      5_000,
    );
    expect(await redis.admin().xrange(keys.events, '-', '+')).toEqual([['2-1', [EVENT_FIELD, '{}']]]);
  });
});
