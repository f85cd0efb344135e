import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { busKeys, loadCluster, type ClusterState } from '../../src/bus/redis-store.ts';
import { Hub } from '../../src/hub/hub.ts';
import type { Bar } from '../../src/protocol/messages.ts';
import { waitFor } from '../helpers.ts';
import { startNode, tick, type Node } from './cluster.ts';
import { startRedis, uniquePrefix, type TestRedis } from './redis-server.ts';

/** Bars as comparable keys, each with its seq. */
const keyed = (bars: readonly Bar[], seqs: readonly number[]) =>
  bars.map((b, i) => `${b.symbol} ${b.interval} ${b.start} ${b.close} ${b.updates} ${seqs[i]}`).sort();

describe('the bar log in Redis', () => {
  let redis: TestRedis;
  const nodes: Node[] = [];
  const start = async (...args: Parameters<typeof startNode>) => {
    const node = await startNode(...args);
    nodes.push(node);
    return node;
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.running.close()));
  });

  /** Ten frames a minute apart on 2023-11-`date`. */
  const tradeDay = (node: Node, date: number) => {
    for (let m = 0; m < 10; m++)
      node.frames$.next({
        ...tick(date * 100 + m),
        capturedAt: new Date(Date.UTC(2023, 10, date, 4, 31 + m)),
      });
  };
  const stateOf = async (prefix: string): Promise<ClusterState> =>
    JSON.parse((await redis.admin().get(busKeys(prefix).state))!) as ClusterState;
  const snapshotAt = (prefix: string, node: Node) =>
    waitFor(async () => (await stateOf(prefix)).seq === node.running.hub.seq, 'the snapshot at the head');

  it('snapshots carry each latest bar only; an edge that joins later holds every bar at its seq', async () => {
    const prefix = uniquePrefix();
    const keys = busKeys(prefix);
    const ingest = await start('ingest', redis.url, prefix, { barDays: 2, snapshotMs: 20 });
    tradeDay(ingest, 8);
    tradeDay(ingest, 9);
    await snapshotAt(prefix, ingest);
    const held = ingest.running.hub.exportState();
    const state = await stateOf(prefix);
    // Three symbols, five intervals: the snapshot's size no longer grows with the days held.
    expect(state.bars!.length).toBeLessThanOrEqual(15);
    expect(held.bars!.length).toBeGreaterThan(60);
    expect(Object.keys(state.barLog!.days)).toEqual(['2023-11-08', '2023-11-09']);
    const dayEight = await redis.admin().hget(keys.bars, '2023-11-08:0');

    const late = await start('edge', redis.url, prefix, { barDays: 2 });
    await waitFor(() => late.running.hub.seq === ingest.running.hub.seq, 'the late edge in step');
    const loaded = late.running.hub.exportState();
    expect(keyed(loaded.bars!, loaded.barSeqs!)).toEqual(keyed(held.bars!, held.barSeqs!));

    // A third day: the first leaves Redis with the store, and a day once copied is not written again.
    const written: string[] = [];
    const watch = redis.admin().duplicate();
    await watch
      .monitor()
      .then((monitor) => monitor.on('monitor', (_t, args: string[]) => written.push(args.join(' '))));
    tradeDay(ingest, 10);
    await snapshotAt(prefix, ingest);
    watch.disconnect();
    expect(await redis.admin().hexists(keys.bars, '2023-11-08:0')).toBe(0);
    expect(await redis.admin().hkeys(keys.bars)).toContain('2023-11-09:0');
    const sets = (field: string) => written.filter((w) => w.startsWith(`HSET ${keys.bars} ${field} `));
    expect(sets('2023-11-10:0').length).toBeGreaterThan(0);
    expect(sets('2023-11-09:0')).toEqual([]);
    expect(dayEight).not.toBeNull();
  });

  it('loads a snapshot of the older kind, every bar inside it', async () => {
    const prefix = uniquePrefix();
    const keys = busKeys(prefix);
    const hub = new Hub({ history: { size: 100, ageMs: 600_000 }, headlineCount: 5, epoch: 'E', barDays: 5 });
    for (let m = 0; m < 4; m++)
      hub.apply({
        type: 'quote',
        symbol: 'AIRLINK',
        ts: new Date(Date.UTC(2023, 10, 8, 4, 31 + m)).toISOString(),
        fields: { kind: 'stock', price: 80 + m, change: 1, changePercent: 1, direction: 'up' },
      });
    const { bars, barSeqs } = hub.exportState();
    const old: ClusterState = {
      gen: 1,
      epoch: 'E',
      seq: hub.seq,
      quotes: hub.snapshot(),
      headlines: [],
      bars,
      barSeqs,
    };
    await redis.admin().set(keys.state, JSON.stringify(old));
    const loaded = await loadCluster(
      redis.admin(),
      keys,
      { history: { size: 10, ageMs: 60_000 }, headlineCount: 5, barDays: 5 },
      (problem) => {
        throw new Error(problem);
      },
    );
    expect(keyed(loaded.state!.bars!, loaded.state!.barSeqs!)).toEqual(keyed(bars!, barSeqs!));
  });
});
