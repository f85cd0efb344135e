import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { waitFor } from '../helpers.ts';
import {
  clientQuotes,
  feed,
  healthOf,
  hubQuotes,
  lastSeq,
  seqRun,
  startNode,
  subscribed,
  type Node,
} from './cluster.ts';
import { startRedis, uniquePrefix, type TestRedis } from './redis-server.ts';
import type { TestClient } from '../helpers.ts';

// Each test makes the private Redis sick (restart, maxmemory, replica, sleep): none runs on the
// shared Redis REDIS_URL names, and each is reported as skipped there.
describe('a sick Redis: the cluster says so, keeps its state and loses nothing once Redis is back', () => {
  let redis: TestRedis;
  const nodes: Node[] = [];
  const clients: TestClient[] = [];

  /** One ingest, one edge and a client on the edge, on a fresh prefix. */
  const cluster = async (leaseMs = 600) => {
    const prefix = uniquePrefix();
    const ingest = await startNode('ingest', redis.url, prefix, { leaseMs });
    const edge = await startNode('edge', redis.url, prefix);
    nodes.push(ingest, edge);
    const client = await subscribed(edge);
    clients.push(client);
    return { ingest, edge, client, prefix };
  };

  /** The edge's client ends in the ingest's exact state, every event once and in order. */
  const exact = async ({ ingest, client }: { ingest: Node; client: TestClient }) => {
    await waitFor(() => lastSeq(client) === ingest.running.hub.seq, 'the client at the ingest’s seq', 20_000);
    expect(seqRun(client)).toEqual({ first: 1, last: ingest.running.hub.seq, gapless: true });
    expect(clientQuotes(client)).toEqual(hubQuotes(ingest));
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'skip') return;
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(nodes.splice(0).map((n) => n.running.close()));
    // Whatever a test did to the server, the next one gets a healthy, empty one.
    await redis.restart();
  });

  it('loses nothing when Redis restarts empty while the ingest is publishing', async (ctx) => {
    if (!redis.private) ctx.skip();
    const c = await cluster();
    const feeding = feed(c.ingest, 1, 200);
    await waitFor(() => lastSeq(c.client) >= 150, 'the feed under way on the edge', 10_000);
    await redis.restart();
    await feeding;
    await exact(c);
    expect((await healthOf(c.edge)).status).toBe('ok');
    // The ingest re-sent its history, not only what came after the restart: a client that left
    // early resumes on a new edge with exactly what it missed.
    const late = await startNode('edge', redis.url, c.prefix);
    nodes.push(late);
    const resumed = await subscribed(late, { epoch: c.ingest.running.hub.epoch, seq: 30 });
    clients.push(resumed);
    expect(resumed.ofType('subscribed')[0]?.recovered).toBe(true);
  });

  it('queues and retries while Redis refuses writes (maxmemory, noeviction), stale meanwhile', async (ctx) => {
    if (!redis.private) ctx.skip();
    const c = await cluster();
    await feed(c.ingest, 1, 10);
    await waitFor(() => lastSeq(c.client) === 30, 'the first frames on the edge');
    const admin = redis.admin();
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');

    await feed(c.ingest, 11, 10);
    const ingestHealth = await waitFor(async () => {
      const h = await healthOf(c.ingest);
      return h.status === 'degraded' && h;
    }, 'the ingest degraded');
    expect(ingestHealth.bus).toMatchObject({ publish: { ok: false, error: expect.stringMatching(/^OOM/) } });
    expect(ingestHealth.bus?.unpublished).toBeGreaterThan(0);
    const metrics = await (await fetch(`http://127.0.0.1:${c.ingest.running.server.port}/metrics`)).text();
    expect(metrics).toMatch(/^tickstream_bus_publish_errors_total [1-9]\d*$/m);
    // The lease cannot be renewed either: every edge says the feed is stale.
    await waitFor(
      () => c.client.ofType('status').at(-1)?.state === 'stale',
      'clients told the feed is stale',
      10_000,
    );
    expect(await healthOf(c.edge)).toMatchObject({ status: 'degraded', bus: { ingest: 'gone' } });
    expect(lastSeq(c.client)).toBe(30);

    await admin.config('SET', 'maxmemory', '0');
    await feed(c.ingest, 21, 5);
    await exact(c);
    await waitFor(() => c.client.ofType('status').at(-1)?.state === 'running', 'running again', 10_000);
    expect(await healthOf(c.ingest)).toMatchObject({
      status: 'ok',
      bus: { publish: { ok: true }, unpublished: 0 },
    });
  });

  it('re-seeds a Redis that turned into a read-only replica and back, without a gap', async (ctx) => {
    if (!redis.private) ctx.skip();
    const c = await cluster();
    await feed(c.ingest, 1, 10);
    await waitFor(() => lastSeq(c.client) === 30, 'the first frames on the edge');
    const primary = await startRedis();
    onTestFinished(() => primary.stop());
    // Sync at once (Redis waits 5 s for more replicas by default).
    await primary.admin().config('SET', 'repl-diskless-sync-delay', '0');
    const admin = redis.admin();
    // Load the primary's data straight into memory, not through a dump.rdb in the working directory.
    await admin.config('SET', 'repl-diskless-load', 'swapdb');
    const { port } = new URL(primary.url);
    // Syncing from an empty primary also throws away everything this Redis held.
    await admin.replicaof('127.0.0.1', port);
    await waitFor(
      async () => (await admin.info('replication')).includes('master_link_status:up'),
      'the sync',
    );

    await feed(c.ingest, 11, 10);
    const h = await waitFor(async () => {
      const health = await healthOf(c.ingest);
      return health.status === 'degraded' && health;
    }, 'the ingest degraded');
    expect(h.bus).toMatchObject({ publish: { ok: false, error: expect.stringMatching(/^READONLY/) } });

    await admin.replicaof('NO', 'ONE');
    await feed(c.ingest, 21, 5);
    await exact(c);
  });

  it('says degraded while Redis is too slow to answer (DEBUG SLEEP), then delivers everything', async (ctx) => {
    if (!redis.private) ctx.skip();
    const c = await cluster(6000);
    await feed(c.ingest, 1, 10);
    await waitFor(() => lastSeq(c.client) === 30, 'the first frames on the edge');
    const sleeping = redis.admin().debug('SLEEP', '4');
    const feeding = feed(c.ingest, 11, 100, 20);
    const h = await waitFor(
      async () => {
        const health = await healthOf(c.ingest);
        return health.status === 'degraded' && health;
      },
      'the ingest degraded',
      4000,
    );
    expect(h.bus).toMatchObject({
      publish: { ok: false, error: expect.stringMatching(/^Redis has not answered a publish for \d+ ms$/) },
    });
    await sleeping;
    await feeding;
    await exact(c);
    expect((await healthOf(c.ingest)).status).toBe('ok');
  });
});
