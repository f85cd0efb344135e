import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  busKeys,
  loadCluster,
  LOG_ID_FIELD,
  pieceField,
  newLogKey,
  restoreCluster,
  type ClusterState,
  type Loaded,
} from '../../src/bus/redis-store.ts';
import { publish, writeBarPieces } from '../../src/bus/publish-script.ts';
import { BarLogCopy, type BarLogRef } from '../../src/hub/bar-log-copy.ts';
import { eventJson } from '../../src/hub/event-json.ts';
import { Hub } from '../../src/hub/hub.ts';
import { BAR_INTERVALS, type CandlesResponse } from '../../src/protocol/messages.ts';
import { barKeys, waitFor } from '../helpers.ts';
import { startNode, subscribed, tick, type Node } from './cluster.ts';
import { commandsDuring, startRedis, uniquePrefix, type TestRedis } from './redis-server.ts';

const candles = async (node: Node, interval: string): Promise<CandlesResponse> =>
  (await (
    await fetch(`http://127.0.0.1:${node.running.server.port}/api/candles?interval=${interval}`)
  ).json()) as CandlesResponse;

describe('bars on the Redis bus', () => {
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

  it('two edges, one there from the start and one that joins later, answer identical bars', async () => {
    const prefix = uniquePrefix();
    const ingest = await start('ingest', redis.url, prefix, { barDays: 5 });
    const early = await start('edge', redis.url, prefix, { barDays: 5 });
    // Ticks a second apart across two minutes: the first minute's bars close.
    for (let n = 1; n <= 70; n += 3) ingest.frames$.next(tick(n));
    await waitFor(() => early.running.hub.seq === ingest.running.hub.seq, 'the early edge in step');
    const late = await start('edge', redis.url, prefix, { barDays: 5 });
    await waitFor(() => late.running.hub.seq === ingest.running.hub.seq, 'the late edge in step');
    for (const interval of BAR_INTERVALS) {
      const [a, b, truth] = await Promise.all([
        candles(early, interval),
        candles(late, interval),
        candles(ingest, interval),
      ]);
      expect(a.candles.length).toBeGreaterThan(0);
      expect(a).toEqual(truth);
      expect(b).toEqual(truth);
    }
    const minutes = (await candles(early, '1m')).candles.filter((c) => c.symbol === 'AIRLINK');
    expect(minutes.map((c) => [c.start.slice(11, 16), c.closed])).toEqual([
      ['04:31', true],
      ['04:32', false],
    ]);
  });

  it('re-sends bars at their seqs to a Redis that restarted empty: edges resume across it', async (ctx) => {
    // Reported as skipped, not passed: REDIS_URL's server is not ours to restart.
    if (!redis.private) ctx.skip();
    const prefix = uniquePrefix();
    const ingest = await start('ingest', redis.url, prefix, { barDays: 5 });
    const edge = await start('edge', redis.url, prefix, { barDays: 5 });
    let reloads = 0;
    const reloaded = edge.running.hub.restored$.subscribe(() => reloads++);
    onTestFinished(() => reloaded.unsubscribe());
    const client = await subscribed(edge);
    onTestFinished(() => client.close());
    for (let n = 1; n <= 40; n += 3) ingest.frames$.next(tick(n));
    await waitFor(() => edge.running.hub.seq === ingest.running.hub.seq, 'the edge in step');
    const before = edge.running.hub.position;

    await redis.restart();
    // Stamped while Redis is gone; the ingest then sends Redis all it holds, bars events included.
    for (let n = 43; n <= 70; n += 3) ingest.frames$.next(tick(n));
    await waitFor(() => edge.running.hub.seq === ingest.running.hub.seq, 'the edge in step again', 20_000);

    expect(reloads).toBe(0);
    expect(client.closeCode).toBeUndefined();
    expect(client.ofType('snapshot')).toHaveLength(1);
    const resumed = await subscribed(edge, before);
    onTestFinished(() => resumed.close());
    expect(resumed.ofType('subscribed')[0]?.recovered).toBe(true);
    // A later edge reads the re-sent stream from the ingest's first event on: a client that left
    // early resumes there, and it holds the same bars at the same seqs as the ingest.
    const late = await start('edge', redis.url, prefix, { barDays: 5 });
    await waitFor(() => late.running.hub.seq === ingest.running.hub.seq, 'the late edge in step');
    const early = await subscribed(late, { epoch: before.epoch, seq: 4 });
    onTestFinished(() => early.close());
    expect(early.ofType('subscribed')[0]?.recovered).toBe(true);
    for (const hub of [edge.running.hub, late.running.hub])
      expect(hub.exportState()).toMatchObject({
        bars: ingest.running.hub.exportState().bars,
        barSeqs: ingest.running.hub.exportState().barSeqs,
      });
  });

  it('an ingest restarted ahead of Redis sends what Redis lacks, bars included: the edge follows on', async (ctx) => {
    // Reported as skipped, not passed: it changes server settings a shared Redis should keep.
    if (!redis.private) ctx.skip();
    const prefix = uniquePrefix();
    const dataDir = mkdtempSync(join(tmpdir(), 'tickstream-bars-bus-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    let ingest = await start('ingest', redis.url, prefix, { barDays: 5, dataDir });
    const edge = await start('edge', redis.url, prefix, { barDays: 5 });
    let reloads = 0;
    const reloaded = edge.running.hub.restored$.subscribe(() => reloads++);
    onTestFinished(() => reloaded.unsubscribe());
    for (let n = 1; n <= 40; n += 3) ingest.frames$.next(tick(n));
    await waitFor(() => edge.running.hub.seq === ingest.running.hub.seq, 'the edge in step');

    // Redis refuses writes: what the ingest stamps now is journaled, never published.
    const admin = redis.admin();
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    onTestFinished(() => void admin.config('SET', 'maxmemory', '0'));
    for (let n = 43; n <= 70; n += 3) ingest.frames$.next(tick(n));
    const ahead = ingest.running.hub.seq;
    await ingest.running.close();
    await admin.config('SET', 'maxmemory', '0');
    ingest = await start('ingest', redis.url, prefix, { barDays: 5, dataDir });
    expect(ingest.running.hub.seq).toBe(ahead);
    await waitFor(() => edge.running.hub.seq === ahead, 'the edge at the restarted ingest’s seq', 20_000);
    expect(reloads).toBe(0);
    expect(edge.running.hub.exportState()).toMatchObject({
      bars: ingest.running.hub.exportState().bars,
      barSeqs: ingest.running.hub.exportState().barSeqs,
    });
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
    expect(barKeys(loaded.bars!, loaded.barSeqs!)).toEqual(barKeys(held.bars!, held.barSeqs!));

    // A third day: the first leaves Redis with the store, and a day once copied is not written again.
    const written = await commandsDuring(redis, () => {
      tradeDay(ingest, 10);
      return snapshotAt(prefix, ingest);
    });
    expect(await redis.admin().hexists(keys.bars, '2023-11-08:0')).toBe(0);
    expect(await redis.admin().hkeys(keys.bars)).toContain('2023-11-09:0');
    const sets = (field: string) =>
      written.filter(([command, key, f]) => /^hset$/i.test(command!) && key === keys.bars && f === field);
    expect(sets('2023-11-10:0').length).toBeGreaterThan(0);
    expect(sets('2023-11-09:0')).toEqual([]);
    expect(dayEight).not.toBeNull();
  });

  it('an ingest restarted on the cluster goes on writing its bar log instead of writing it again', async () => {
    const prefix = uniquePrefix();
    const keys = busKeys(prefix);
    let ingest = await start('ingest', redis.url, prefix, { barDays: 5, snapshotMs: 20 });
    tradeDay(ingest, 8);
    tradeDay(ingest, 9);
    await snapshotAt(prefix, ingest);
    const id = await redis.admin().hget(keys.bars, 'id');
    await ingest.running.close();

    const written = await commandsDuring(redis, async () => {
      ingest = await start('ingest', redis.url, prefix, { barDays: 5, snapshotMs: 20 });
      tradeDay(ingest, 10);
      await snapshotAt(prefix, ingest);
    });
    expect(await redis.admin().hget(keys.bars, 'id')).toBe(id);
    const sets = (field: string) =>
      written.filter(([command, key, f]) => /^hset$/i.test(command!) && key === keys.bars && f === field);
    expect(sets('2023-11-10:0').length).toBeGreaterThan(0);
    expect([...sets('2023-11-08:0'), ...sets('2023-11-09:0')]).toEqual([]);
    const late = await start('edge', redis.url, prefix, { barDays: 5 });
    await waitFor(() => late.running.hub.seq === ingest.running.hub.seq, 'the late edge in step');
    const [held, loaded] = [ingest.running.hub.exportState(), late.running.hub.exportState()];
    expect(barKeys(loaded.bars!, loaded.barSeqs!)).toEqual(barKeys(held.bars!, held.barSeqs!));
  });

  it('an edge reloading the cluster tells its clients and /healthz that its numbers are behind until it holds it', async () => {
    const prefix = uniquePrefix();
    const keys = busKeys(prefix);
    const ingest = await start('ingest', redis.url, prefix, { barDays: 5, snapshotMs: 20 });
    const edge = await start('edge', redis.url, prefix, { barDays: 5 });
    tradeDay(ingest, 8);
    await snapshotAt(prefix, ingest);
    await waitFor(() => edge.running.hub.seq === ingest.running.hub.seq, 'the edge in step');
    const client = await subscribed(edge);
    onTestFinished(() => client.close());
    const health = async () =>
      (await (await fetch(`http://127.0.0.1:${edge.running.server.port}/healthz`)).json()) as {
        status: string;
        bus: { resyncing?: boolean };
      };
    expect(await health()).toMatchObject({ status: 'ok', bus: { resyncing: false } });

    // An unreadable entry makes the edge reload; with the bar log out of reach meanwhile, the
    // reload waits for it (as for a newer snapshot) and the edge's numbers stay behind.
    const admin = redis.admin();
    await admin.rename(keys.bars, `${keys.bars}-aside`);
    const { gen } = await stateOf(prefix);
    const bad = `${gen}-${ingest.running.hub.seq + 1}`;
    await admin.xadd(keys.events, bad, 'm', 'not an event');
    await waitFor(() => client.ofType('status').some((m) => m.state === 'stale'), 'a stale status');
    expect(await health()).toMatchObject({ status: 'degraded', bus: { resyncing: true } });

    await admin.xdel(keys.events, bad);
    await admin.rename(`${keys.bars}-aside`, keys.bars);
    await waitFor(async () => (await health()).bus.resyncing === false, 'the reload done');
    expect(await health()).toMatchObject({ status: 'ok' });
    expect(edge.running.hub.status.state).toBe('running');
  });

  it('writes the snapshot a quiet spell owes, even when its timer fires early by the throttle clock', async () => {
    const prefix = uniquePrefix();
    const ingest = await start('ingest', redis.url, prefix, { snapshotMs: 500 });
    ingest.frames$.next(tick(1));
    await snapshotAt(prefix, ingest);
    // The clock the throttle reads stands still, as a timer counted from a stale loop time sees
    // it: the events go out without a snapshot, and the timer for it fires "early".
    const frozen = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(frozen);
    try {
      ingest.frames$.next(tick(2));
      await waitFor(async () => (await redis.admin().xlen(busKeys(prefix).events)) === 6, 'the events');
      await new Promise((r) => setTimeout(r, 700));
    } finally {
      clock.mockRestore();
    }
    expect((await stateOf(prefix)).seq).toBe(3);
    await snapshotAt(prefix, ingest);
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
    const restored = new Hub(LIMITS);
    restoreCluster(restored, loaded!.cluster!);
    const back = restored.exportState();
    expect(barKeys(back.bars!, back.barSeqs!)).toEqual(barKeys(bars!, barSeqs!));
  });

  /** 5,000 symbols for ten minutes: about 50,000 bars in the day's log, ten pieces. */
  const longLogHub = () => {
    const hub = new Hub({ history: { size: 100, ageMs: 600_000 }, headlineCount: 5, epoch: 'E', barDays: 5 });
    for (let m = 0; m < 10; m++)
      for (let s = 0; s < 5000; s++)
        hub.apply({
          type: 'quote',
          symbol: `S${s}`,
          ts: new Date(Date.UTC(2023, 10, 8, 4, 31 + m)).toISOString(),
          fields: { kind: 'stock', price: 80 + m, change: 1, changePercent: 1, direction: 'up' },
        });
    return hub;
  };
  const LIMITS = { history: { size: 10, ageMs: 60_000 }, headlineCount: 5, barDays: 5 };
  /** The snapshot an ingest of `hub` writes with the bar log `barLog`: each series' latest bar. */
  const clusterState = (hub: Hub, barLog: BarLogRef): ClusterState => {
    const latest = hub.barCopy.latestBars();
    return {
      gen: 1,
      epoch: 'E',
      seq: hub.seq,
      quotes: hub.snapshot(),
      headlines: [],
      bars: latest.bars,
      barSeqs: latest.seqs,
      barLog,
    };
  };

  it('writes a new bar log aside a few pieces a command, then puts it in the log’s place', async () => {
    const keys = busKeys(uniquePrefix());
    const hub = longLogHub();
    const write = new BarLogCopy(() => 'L2').write(hub.barCopy);
    expect(write.pieces.length).toBeGreaterThan(8);
    const admin = redis.admin();
    await admin.hset(keys.bars, LOG_ID_FIELD, 'L1', '2023-11-07:0', '{}');
    const state = clusterState(hub, write.ref);
    // Each answer is news that Redis is taking the log: the ingest's health counts from the last.
    let answers = 0;
    const commands = await commandsDuring(redis, async () => {
      await writeBarPieces(admin, keys, 'ours', write, () => answers++);
      // The hub's last event, after a gap the snapshot covers, as a new cluster's first publish.
      const reply = await publish(admin, keys, {
        holder: 'ours',
        leaseMs: 10_000,
        gen: 1,
        maxLen: 100,
        firstSeq: hub.seq,
        gap: true,
        events: [eventJson(hub.exportState().history.at(-1)!)],
        snapshot: { json: JSON.stringify(state), seq: hub.seq },
        bars: write,
      });
      expect(reply).toMatchObject({ kind: 'ok' });
    });
    const batches = commands
      .filter((args) => /^eval/i.test(args[0]!) && args[4] === newLogKey(keys, 'L2'))
      .map((args) => (args.length - 9) / 2);
    // Each command carries at most eight pieces; the old log's pieces went with it.
    expect(batches.reduce((n, b) => n + b, 0)).toBe(write.pieces.length);
    expect(Math.max(...batches)).toBeLessThanOrEqual(8);
    expect(answers).toBe(batches.length);
    expect(commands.some(([command, key]) => /^hset$/i.test(command!) && key === keys.bars)).toBe(false);
    expect(await admin.hget(keys.bars, '2023-11-07:0')).toBeNull();
    const loaded = await loadCluster(admin, keys, LIMITS, (problem) => {
      throw new Error(problem);
    });
    const restored = new Hub(LIMITS);
    restoreCluster(restored, loaded.cluster!);
    const [back, held] = [restored.exportState(), hub.exportState()];
    expect(barKeys(back.bars!, back.barSeqs!)).toEqual(barKeys(held.bars!, held.barSeqs!));
  });

  it('reads a long bar log a few pieces a command, whole', async () => {
    const prefix = uniquePrefix();
    const keys = busKeys(prefix);
    const hub = longLogHub();
    const write = new BarLogCopy(() => 'L1').write(hub.barCopy);
    expect(write.pieces.length).toBeGreaterThan(8);
    const admin = redis.admin();
    await admin.hset(
      keys.bars,
      LOG_ID_FIELD,
      'L1',
      ...write.pieces.flatMap((p) => [pieceField(p.day, p.k), write.text(p)]),
    );
    const state = clusterState(hub, write.ref);
    await admin.set(keys.state, JSON.stringify(state));

    let loaded: Loaded | undefined;
    const reads = (
      await commandsDuring(redis, async () => {
        loaded = await loadCluster(admin, keys, LIMITS, (problem) => {
          throw new Error(problem);
        });
      })
    )
      .filter(([command, key]) => command!.toLowerCase() === 'hmget' && key === keys.bars)
      .map((args) => args.length - 3);
    const held = hub.exportState();
    const restored = new Hub(LIMITS);
    restoreCluster(restored, loaded!.cluster!);
    const back = restored.exportState();
    expect(barKeys(back.bars!, back.barSeqs!)).toEqual(barKeys(held.bars!, held.barSeqs!));
    // Each command names the log's id and at most eight pieces.
    expect(reads.reduce((n, r) => n + r, 0)).toBe(write.pieces.length);
    expect(Math.max(...reads)).toBeLessThanOrEqual(8);
  });
});
