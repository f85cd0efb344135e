import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BAR_INTERVALS, type CandlesResponse } from '../../src/protocol/messages.ts';
import { waitFor } from '../helpers.ts';
import { startNode, tick, type Node } from './cluster.ts';
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
});
