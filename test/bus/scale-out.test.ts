import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { HelloMessage, Quote, QuoteMessage } from '../../src/protocol/messages.ts';
import { repoPath, TestClient, waitFor } from '../helpers.ts';
import { spawnTickstream } from '../server-child.ts';
import {
  clientQuotes,
  events,
  hubQuotes,
  lastSeq,
  startNode,
  subscribed,
  tick,
  type Node,
} from './cluster.ts';
import { startRedis, uniquePrefix, type TestRedis } from './redis-server.ts';

/** Applies quote deltas to full quotes, as a client library does. */
const applyAll = (quotes: Map<string, Partial<Quote>>, messages: readonly QuoteMessage[]) => {
  for (const { type: _t, seq: _s, ...fields } of messages)
    quotes.set(fields.symbol, { ...quotes.get(fields.symbol), ...fields });
  return quotes;
};

const quotesOf = (client: TestClient) => events(client).filter((m): m is QuoteMessage => m.type === 'quote');

describe('scale-out on Redis: one ingest, two edges', () => {
  let redis: TestRedis;
  const nodes: Node[] = [];
  const clients: TestClient[] = [];
  const start = async (...args: Parameters<typeof startNode>) => {
    const node = await startNode(...args);
    nodes.push(node);
    return node;
  };
  const connect = async (...args: Parameters<typeof subscribed>) => {
    const client = await subscribed(...args);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(nodes.splice(0).map((n) => n.running.close()));
  });

  it('delivers the same events in the same order on both edges, stamped once at ingest', async () => {
    const prefix = uniquePrefix();
    const ingest = await start('ingest', redis.url, prefix);
    const [a, b] = [await start('edge', redis.url, prefix), await start('edge', redis.url, prefix)];
    const [onA, onB] = [await connect(a!), await connect(b!)];
    for (let n = 1; n <= 5; n++) ingest.frames$.next(tick(n));

    await waitFor(() => lastSeq(onA) === 15 && lastSeq(onB) === 15, 'seq 15 on both edges');
    expect(events(onA).map((m) => m.seq)).toEqual([...Array(15).keys()].map((i) => i + 1));
    expect(events(onB)).toEqual(events(onA));
    const epochs = [onA, onB].map((c) => (c.messages[0] as HelloMessage).epoch);
    expect(epochs).toEqual([ingest.running.hub.epoch, ingest.running.hub.epoch]);
  });

  it('serves from the stream in role all, and is ready once it holds the cluster state', async () => {
    const node = await start('all', redis.url, uniquePrefix());
    const client = await connect(node);
    node.frames$.next(tick(1));
    await waitFor(() => lastSeq(client) === 3, 'the first frame through Redis');
    const ready = await fetch(`http://127.0.0.1:${node.running.server.port}/readyz`);
    expect(ready.status).toBe(200);
    expect(events(client).map((m) => [m.type, m.seq])).toEqual([
      ['quote', 1],
      ['quote', 2],
      ['quote', 3],
    ]);
  });

  it('lets a client that left edge A resume on edge B with exactly what it missed', async () => {
    const prefix = uniquePrefix();
    const ingest = await start('ingest', redis.url, prefix);
    const [a, b] = [await start('edge', redis.url, prefix), await start('edge', redis.url, prefix)];
    const leaving = await connect(a!);
    const staying = await connect(a!);
    ingest.frames$.next(tick(1));
    ingest.frames$.next(tick(2));
    await waitFor(() => lastSeq(leaving) === 6, 'the first two frames on edge A');
    await leaving.close();
    const epoch = (leaving.messages[0] as HelloMessage).epoch;

    ingest.frames$.next(tick(3));
    ingest.frames$.next(tick(4));
    await waitFor(() => lastSeq(staying) === 12 && b!.running.hub.seq === 12, 'frames 3 and 4 everywhere');
    const resumed = await connect(b!, { epoch, seq: 6 });
    await waitFor(() => lastSeq(resumed) === 12, 'the missed events on edge B');

    expect(resumed.ofType('subscribed')).toEqual([
      { type: 'subscribed', id: 1, channel: 'quotes', recovered: true },
    ]);
    expect(resumed.ofType('snapshot')).toEqual([]);
    // Merged per symbol: one delta each, carrying every field that changed since seq 6.
    expect(quotesOf(resumed).map((m) => [m.symbol, m.seq])).toEqual([
      ['AIRLINK', 10],
      ['HBL', 11],
      ['OGDC', 12],
    ]);
    const fromResume = applyAll(applyAll(new Map(), quotesOf(leaving)), quotesOf(resumed));
    const continuous = applyAll(new Map(), quotesOf(staying));
    expect(fromResume).toEqual(continuous);
  });

  it('loses no event a client can see when Redis and then the ingest restart mid-replay', async (ctx) => {
    // Reported as skipped, not passed: REDIS_URL's server is not ours to kill.
    if (!redis.private) ctx.skip();
    const prefix = uniquePrefix();
    let ingest = await start('ingest', redis.url, prefix);
    const edge = await start('edge', redis.url, prefix);
    const client = await connect(edge);
    const epoch = ingest.running.hub.epoch;
    for (let n = 1; n <= 3; n++) ingest.frames$.next(tick(n));
    await waitFor(() => lastSeq(client) === 9, 'the first three frames');

    await redis.restart();
    // Stamped while Redis is gone: the ingest keeps them until Redis is back, then re-seeds it.
    for (let n = 4; n <= 6; n++) ingest.frames$.next(tick(n));
    await waitFor(() => lastSeq(client) === 18, 'frames 4-6 after Redis came back empty', 10_000);

    await ingest.running.close();
    ingest = await start('ingest', redis.url, prefix);
    expect(ingest.running.hub.position).toEqual({ epoch, seq: 18 });
    for (let n = 7; n <= 9; n++) ingest.frames$.next(tick(n));
    await waitFor(() => lastSeq(client) === 27, 'frames 7-9 from the restarted ingest');

    expect(events(client).map((m) => m.seq)).toEqual([...Array(27).keys()].map((i) => i + 1));
    // A client joining now sees the same state, on the same epoch.
    const late = await connect(await start('edge', redis.url, prefix));
    expect((late.messages[0] as HelloMessage).epoch).toBe(epoch);
    const snapshot = late.ofType('snapshot')[0];
    expect(snapshot?.channel === 'quotes' && new Map(snapshot.quotes.map((q) => [q.symbol, q]))).toEqual(
      applyAll(new Map(), quotesOf(client)),
    );
  });

  it('tells clients the feed is stale while no ingest publishes, however quiet the feed, and live again after', async () => {
    const prefix = uniquePrefix();
    let ingest = await start('ingest', redis.url, prefix);
    const edge = await start('edge', redis.url, prefix);
    const watcher = await connect(edge);
    const states = () => watcher.ofType('status').map((m) => m.state);
    const health = async () =>
      (await (await fetch(`http://127.0.0.1:${edge.running.server.port}/healthz`)).json()) as {
        bus: { ingest?: string };
      };
    await waitFor(
      async () => (await health()).bus.ingest === 'publishing',
      'the ingest seen by the edge',
      10_000,
    );
    expect(states().at(-1)).toBe('running');

    // No event says the ingest is gone: the edge learns it from the lease the ingest stops renewing.
    await ingest.running.close();
    await waitFor(() => states().at(-1) === 'stale', 'a stale status once the ingest is gone', 10_000);
    expect((await health()).bus.ingest).toBe('gone');
    const metrics = await (await fetch(`http://127.0.0.1:${edge.running.server.port}/metrics`)).text();
    expect(metrics).toMatch(/^tickstream_bus_ingest_up 0$/m);

    ingest = await start('ingest', redis.url, prefix);
    await waitFor(() => states().at(-1) === 'running', 'running again with a new ingest', 10_000);
    ingest.frames$.next(tick(1));
    await waitFor(() => lastSeq(watcher) === 3, 'the new ingest’s first frame');
  });

  it('refuses a second ingest while the first keeps renewing its lease', async () => {
    const prefix = uniquePrefix();
    await start('ingest', redis.url, prefix, { leaseMs: 600 });
    await expect(start('ingest', redis.url, prefix, { leaseMs: 600 })).rejects.toThrow(
      new RegExp(`another ingest \\(.+\\) holds ${prefix}:ingest and keeps renewing it`),
    );
  });

  it('waits for a dead ingest’s lease to run out, however long it was, then takes it', async () => {
    const prefix = uniquePrefix();
    // Left by an ingest that died with a lease five times as long as the new one's.
    await redis.admin().set(`${prefix}:ingest`, 'dead-host:1:gone', 'PX', 1500);
    const ingest = await start('ingest', redis.url, prefix, { leaseMs: 300 });
    ingest.frames$.next(tick(1));
    await waitFor(() => ingest.running.hub.seq === 3, 'the new ingest publishing');
    expect(await redis.admin().get(`${prefix}:ingest`)).toMatch(/^[^:]+:\d+:[0-9a-f]{8}$/);
  });

  it('marks the feed stale when the ingest hangs, and fences it off once another took over', async () => {
    const prefix = uniquePrefix();
    // A real ingest process, frozen with SIGSTOP: its Redis connection stays open, it only stops
    // renewing. Its replay goes on when it wakes, so it has events to publish at once.
    const frozen = await spawnTickstream('serve', [
      ...['--bus', redis.url, '--role', 'ingest', '--bus-prefix', prefix, '--bus-lease', '600ms'],
      ...[
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--feed',
        repoPath('replay/session.txt.gz'),
        '--speed',
        '300',
      ],
    ]);
    onTestFinished(() => frozen.stop());
    const edge = await start('edge', redis.url, prefix);
    await waitFor(() => edge.running.hub.seq > 0, 'the edge following a live ingest', 10_000);
    const watcher = await connect(edge);
    const states = () => watcher.ofType('status').map((m) => m.state);

    frozen.child.kill('SIGSTOP');
    await waitFor(() => states().at(-1) === 'stale', 'a stale status once the lease ran out', 10_000);
    const next = await start('ingest', redis.url, prefix);
    await waitFor(() => states().at(-1) === 'running', 'running again under the new ingest', 10_000);
    const seq = next.running.hub.seq;
    // Captured after the whole replayed day: a frame older than what the frozen ingest published
    // is skipped as already published, and how far its replay got before SIGSTOP varies.
    const afterTheDay = (n: number) => ({
      ...tick(n),
      capturedAt: new Date(Date.UTC(2023, 10, 9, 12, 0, n)),
    });
    next.frames$.next(afterTheDay(1));
    await waitFor(() => lastSeq(watcher) === seq + 3, 'the new ingest’s first frame', 10_000);

    // Woken, the old ingest finds the lease taken and stops instead of stamping seqs twice; its
    // replay stamped events past the new ingest's head meanwhile, and not one reaches Redis.
    frozen.child.kill('SIGCONT');
    await waitFor(
      () => frozen.logs().find((l) => String(l.msg).startsWith('another ingest took the lease')),
      'the old ingest standing down',
      10_000,
    );
    const fenced = (await (await fetch(`http://127.0.0.1:${frozen.port}/healthz`)).json()) as {
      status: string;
      bus: { publish: { ok: boolean; error: string } };
    };
    expect(fenced.status).toBe('degraded');
    expect(fenced.bus.publish.error).toMatch(/^another ingest took the lease/);
    next.frames$.next(afterTheDay(2));
    await waitFor(() => lastSeq(watcher) === seq + 6, 'the new ingest still publishing');
    // The old ingest's events may still have been arriving when the watcher subscribed; after them,
    // the new ingest's go on without a gap or a repeat.
    expect(
      events(watcher)
        .map((m) => m.seq)
        .filter((s) => s > seq),
    ).toEqual([...Array(6).keys()].map((i) => seq + 1 + i));
    // Redis holds exactly the new ingest's events and snapshot: an edge that loads now agrees.
    const admin = redis.admin();
    const stream = await admin.xrevrange(`${prefix}:events`, '+', '-', 'COUNT', 20);
    const seqs = stream.map(([id]) => Number(id.split('-')[1])).filter((s) => s > seq);
    expect(seqs).toEqual([...Array(6).keys()].map((i) => seq + 6 - i));
    const late = await start('edge', redis.url, prefix);
    expect(late.running.hub.position).toEqual(next.running.hub.position);
    expect(late.running.hub.snapshot()).toEqual(next.running.hub.snapshot());
  });

  it('throttles the snapshot: an edge that starts after many events it does not cover rolls it forward', async () => {
    const prefix = uniquePrefix();
    const ingest = await start('ingest', redis.url, prefix, { snapshotMs: 3_600_000 });
    const early = await connect(await start('edge', redis.url, prefix));
    for (let n = 1; n <= 100; n++) ingest.frames$.next(tick(n));
    await waitFor(() => lastSeq(early) === 300, 'the 300 events on an edge');
    // Written when the ingest started, then not again within the hour (and under 1,000 events).
    const admin = redis.admin();
    expect(JSON.parse((await admin.get(`${prefix}:state`))!)).toMatchObject({ seq: 0 });

    const late = await start('edge', redis.url, prefix);
    expect(late.running.hub.position).toEqual(ingest.running.hub.position);
    const client = await connect(late);
    expect(clientQuotes(client)).toEqual(hubQuotes(ingest));
    // Its history reaches back too: a client that left at seq 150 resumes with what it missed.
    const resumed = await connect(late, { epoch: ingest.running.hub.epoch, seq: 150 });
    expect(resumed.ofType('subscribed')[0]?.recovered).toBe(true);
  });

  it('restarts an ingest killed with -9 from a snapshot older than the stream, at the stream head', async () => {
    const prefix = uniquePrefix();
    const killed = await spawnTickstream('serve', [
      ...['--bus', redis.url, '--role', 'ingest', '--bus-prefix', prefix, '--bus-lease', '600ms'],
      ...['--bus-snapshot', '1h', '--port', '0', '--host', '127.0.0.1'],
      ...['--feed', repoPath('test/fixtures/two-frames.txt'), '--speed', '0'],
    ]);
    onTestFinished(() => killed.stop());
    const edge = await start('edge', redis.url, prefix);
    await waitFor(
      async () =>
        (await fetch(`http://127.0.0.1:${killed.port}/healthz`)).ok &&
        ((await (await fetch(`http://127.0.0.1:${killed.port}/healthz`)).json()) as { source: string })
          .source === 'ended',
      'the feed replayed',
    );
    await waitFor(
      async () =>
        Number(await redis.admin().xlen(`${prefix}:events`)) > 0 &&
        edge.running.hub.seq ===
          Number(
            (await redis.admin().xrevrange(`${prefix}:events`, '+', '-', 'COUNT', 1))[0]![0].split('-')[1],
          ),
      'the edge at the stream head',
    );
    await killed.stop('SIGKILL');
    const stateSeq = (JSON.parse((await redis.admin().get(`${prefix}:state`))!) as { seq: number }).seq;
    expect(stateSeq).toBeLessThan(edge.running.hub.seq);

    const next = await start('ingest', redis.url, prefix);
    expect(next.running.hub.position).toEqual(edge.running.hub.position);
    expect(next.running.hub.snapshot()).toEqual(edge.running.hub.snapshot());
    next.frames$.next(tick(1));
    await waitFor(
      () => edge.running.hub.seq === next.running.hub.seq,
      'the restarted ingest’s events on the edge',
    );
  });

  it('with role all and a data dir, continues its epoch and seq after Redis lost everything', async (ctx) => {
    // Reported as skipped, not passed: it empties the whole Redis.
    if (!redis.private) ctx.skip();
    const prefix = uniquePrefix();
    const dataDir = mkdtempSync(join(tmpdir(), 'tickstream-all-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await start('all', redis.url, prefix, { dataDir });
    const client = await connect(first);
    first.frames$.next(tick(1));
    await waitFor(() => lastSeq(client) === 3, 'the first frame through Redis');
    const { epoch } = first.running.hub.position;
    await first.running.close();

    await redis.admin().flushall();
    const again = await start('all', redis.url, prefix, { dataDir });
    expect(again.running.hub.position).toEqual({ epoch, seq: 3 });
    const resumed = await connect(again, { epoch, seq: 3 });
    expect(resumed.ofType('subscribed')[0]?.recovered).toBe(true);
    again.frames$.next(tick(2));
    await waitFor(() => lastSeq(resumed) === 6, 'the next frame, seq 4-6 in the same epoch');
  });

  it('resyncs with recovered:false when the stream was trimmed past an edge that was cut off', async (ctx) => {
    // Reported as skipped, not passed: it changes server settings a shared Redis should keep.
    if (!redis.private) ctx.skip();
    const admin = redis.admin();
    // The servers of earlier tests may still be closing their connections: a slot one of them
    // frees after the count below would let the edge back in before the trim.
    await waitFor(
      async () => !((await admin.client('LIST')) as string).includes('name=tickstream-'),
      'no connection of an earlier test left on Redis',
    );
    const prefix = uniquePrefix();
    const ingest = await start('ingest', redis.url, prefix);
    const edge = await start('edge', redis.url, prefix);
    const watcher = await connect(edge);
    ingest.frames$.next(tick(1));
    ingest.frames$.next(tick(2));
    await waitFor(() => lastSeq(watcher) === 6, 'the first two frames on the edge');

    // Cut the edge off and keep it off (no free client slot) while the stream moves on and is trimmed.
    const list = (await admin.client('LIST')) as string;
    const edgeIds = list
      .split('\n')
      .filter((line) => line.includes('name=tickstream-edge'))
      .map((line) => /id=(\d+)/.exec(line)![1]!);
    const clientCount = list.trim().split('\n').length;
    await admin.config('SET', 'maxclients', String(clientCount - edgeIds.length));
    // Restored whatever happens, so a failure here does not starve the other tests.
    onTestFinished(() => void admin.config('SET', 'maxclients', '10000'));
    for (const id of edgeIds) await admin.client('KILL', 'ID', id);
    await waitFor(() => watcher.ofType('status').some((m) => m.state === 'stale'), 'a stale status');
    const notReady = await fetch(`http://127.0.0.1:${edge.running.server.port}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ ready: false, bus: { role: 'edge' } });
    for (let n = 3; n <= 5; n++) ingest.frames$.next(tick(n));
    await waitFor(async () => Number(await admin.xlen(`${prefix}:events`)) === 15, 'frames 3-5 in Redis');
    await admin.xtrim(`${prefix}:events`, 'MAXLEN', 0);
    ingest.frames$.next(tick(6));
    await waitFor(async () => Number(await admin.xlen(`${prefix}:events`)) === 3, 'frame 6 in Redis');
    await admin.config('SET', 'maxclients', '10000');

    // Back once it reconnects and the ingest's next snapshot reaches past the trim (a load waits
    // up to 30 s for one): a deadline for a hang, not a bound on how fast.
    await waitFor(() => edge.running.hub.seq === 18, 'the edge back at the head', 30_000);
    const resumed = await connect(edge, { epoch: ingest.running.hub.epoch, seq: 6 });
    await resumed.next('snapshot');
    expect(resumed.ofType('subscribed')[0]?.recovered).toBe(false);
    expect(resumed.ofType('snapshot')[0]).toEqual({
      type: 'snapshot',
      channel: 'quotes',
      seq: 18,
      quotes: ingest.running.hub.snapshot(),
    });
    // The watcher followed the old state: it is told to reconnect, and a resume resyncs it.
    await waitFor(() => watcher.closeCode, 'the watcher closed by the resync');
    expect(watcher.closeCode).toBe(1012);
    const health = await (await fetch(`http://127.0.0.1:${edge.running.server.port}/healthz`)).json();
    expect(health).toMatchObject({ seq: 18, bus: { role: 'edge', redis: 'up', synced: true, lag: 0 } });
    const metrics = await (await fetch(`http://127.0.0.1:${edge.running.server.port}/metrics`)).text();
    expect(metrics).toMatch(/^tickstream_bus_resyncs_total\{reason="trimmed"\} 1$/m);
    expect(metrics).toMatch(/^tickstream_bus_lag_entries 0$/m);
    expect(metrics).toMatch(/^tickstream_bus_up 1$/m);
  });
});
