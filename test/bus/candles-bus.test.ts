import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { BAR_INTERVALS, type CandlesResponse } from '../../src/protocol/messages.ts';
import { waitFor } from '../helpers.ts';
import { startNode, subscribed, tick, type Node } from './cluster.ts';
import { startRedis, uniquePrefix, type TestRedis } from './redis-server.ts';

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
});
