import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  busKeys,
  HISTORY_PER_READ,
  loadCluster,
  restoreCluster,
  type Loaded,
} from '../../src/bus/redis-store.ts';
import { encodeClusterState, entryId } from '../../src/bus/stream-codec.ts';
import { eventJson } from '../../src/hub/event-json.ts';
import { Hub } from '../../src/hub/hub.ts';
import { waitFor } from '../helpers.ts';
import { startNode, tick } from './cluster.ts';
import { commandsDuring, startRedis, uniquePrefix, type TestRedis } from './redis-server.ts';

const LIMITS = { history: { size: 20_000, ageMs: 3_600_000 }, headlineCount: 5, barDays: 0 };
const EVENTS = 2 * HISTORY_PER_READ + 2_000;
const AFTER = 10;

/** A hub of `EVENTS` quote events, and its state as of the event `AFTER` before its last. */
const ingestHub = () => {
  const hub = new Hub({ ...LIMITS, epoch: 'E' });
  let snapshot: ReturnType<Hub['exportState']> | undefined;
  for (let i = 1; i <= EVENTS; i++) {
    hub.apply({
      type: 'quote',
      symbol: `S${i % 100}`,
      ts: new Date(Date.UTC(2023, 10, 8, 4, 31, 0, i)).toISOString(),
      fields: { kind: 'stock', price: i / 100, change: 1, changePercent: 1, direction: 'up' },
    });
    if (i === EVENTS - AFTER) snapshot = hub.exportState();
  }
  return { hub, snapshot: snapshot! };
};

describe('loading the cluster from Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  /** The stream and snapshot an ingest of `hub` leaves in Redis under `prefix`. */
  const publish = async (prefix: string, hub: Hub, snapshot: ReturnType<Hub['exportState']>) => {
    const keys = busKeys(prefix);
    const admin = redis.admin();
    const events = hub.exportState().history;
    for (let i = 0; i < events.length; i += 1000) {
      const batch = admin.pipeline();
      for (const m of events.slice(i, i + 1000))
        batch.xadd(keys.events, entryId(1, m.seq), 'm', eventJson(m));
      await batch.exec();
    }
    const { epoch, seq, quotes, headlines } = snapshot;
    await admin.set(keys.state, encodeClusterState({ gen: 1, epoch, seq, quotes, headlines }));
    return keys;
  };
  const load = (prefix: string) =>
    loadCluster(redis.admin(), busKeys(prefix), LIMITS, (problem) => {
      throw new Error(problem);
    });

  it('reads the history a page a command, up to the snapshot, then the events after it', async () => {
    const prefix = uniquePrefix();
    const { hub, snapshot } = ingestHub();
    const keys = await publish(prefix, hub, snapshot);
    let loaded: Loaded | undefined;
    const commands = await commandsDuring(redis, async () => {
      loaded = await load(prefix);
    });
    // A stream of 12,000 events is read in pages, not in one reply.
    const pages = commands
      .filter(([command, key]) => /^xrevrange$/i.test(command!) && key === keys.events)
      .map((args) => Number(args.at(-1)));
    expect(pages.filter((count) => count > 1).length).toBeGreaterThan(1);
    expect(Math.max(...pages)).toBeLessThanOrEqual(HISTORY_PER_READ);
    const { snapshot: state, run } = loaded!.cluster!;
    expect(state.history.map((m) => m.seq)).toEqual(Array.from({ length: EVENTS - AFTER }, (_, i) => i + 1));
    expect(run.map((m) => m.seq)).toEqual(Array.from({ length: AFTER }, (_, i) => EVENTS - AFTER + i + 1));
    const edge = new Hub(LIMITS);
    restoreCluster(edge, loaded!.cluster!);
    expect(edge.exportState().history).toEqual(hub.exportState().history);
  });

  it('ends the history where the stream was trimmed', async () => {
    const prefix = uniquePrefix();
    const { hub, snapshot } = ingestHub();
    const keys = await publish(prefix, hub, snapshot);
    await redis.admin().xtrim(keys.events, 'MAXLEN', 7_000);
    const { snapshot: state } = (await load(prefix)).cluster!;
    expect(state.history.map((m) => m.seq)).toEqual(
      Array.from({ length: 7_000 - AFTER }, (_, i) => EVENTS - 7_000 + i + 1),
    );
  });

  it('an edge whose --history-size reaches past the stream keeps its own reach once loaded', async () => {
    const prefix = uniquePrefix();
    const options = { maxLen: 15, historySize: 60 };
    const ingest = await startNode('ingest', redis.url, prefix, options);
    onTestFinished(() => ingest.running.close());
    for (let n = 1; n <= 10; n++) ingest.frames$.next(tick(n));
    const edge = await startNode('edge', redis.url, prefix, options);
    onTestFinished(() => edge.running.close());
    await waitFor(() => edge.running.hub.seq === ingest.running.hub.seq, 'the edge in step');
    // Twenty frames of three events followed live (one at a time: the stream keeps only 15), the
    // edge holds them all, as its flag says.
    for (let n = 11; n <= 30; n++) {
      ingest.frames$.next(tick(n));
      await waitFor(() => edge.running.hub.seq === ingest.running.hub.seq, `frame ${n} on the edge`);
    }
    expect(edge.running.hub.exportState().history).toHaveLength(60);
  });
});
