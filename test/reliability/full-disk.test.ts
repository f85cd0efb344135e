import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Position, Quote, ServerMessage } from '../../src/protocol/messages.ts';
import { fixture, repoPath, TestClient, waitFor } from '../helpers.ts';
import { spawnTickstream, type ServerChild } from '../server-child.ts';
import { fill, useTmpfs } from '../tmpfs.ts';

/**
 * The data dir on a real filesystem of 300 KB (a tmpfs this test mounts; it needs root), filled
 * up while a server journals into it, then freed.
 */
const disk = useTmpfs('full-disk', '300k');
const { root, mnt } = disk;

/** Frames one minute apart: the fixture's first frame with AIRLINK and HBL moving every frame. */
const writeFeed = (): string => {
  const base = fixture('two-frames.txt').split(/^@@.*$/m)[1]!;
  const start = Date.parse('2023-11-09T04:31:00.000Z');
  const frames = Array.from({ length: 200 }, (_, k) => {
    const text = base
      .replace('AIRLINK 80.60', `AIRLINK ${(80.6 + k / 100).toFixed(2)}`)
      .replace('HBL 117.85', `HBL ${(117.85 - k / 100).toFixed(2)}`);
    return `@@ ${new Date(start + k * 60_000).toISOString()}\n${text}`;
  });
  const file = join(root, 'feed.txt');
  writeFileSync(file, frames.join('\n'));
  return file;
};

interface Health {
  status: string;
  epoch: string;
  seq: number;
  journal: { ok: boolean; error?: string };
}
const get = async <T>(port: number, path: string): Promise<T> =>
  (await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as T;
const journalErrors = async (port: number) => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^tickstream_journal_errors_total (\d+)/m.exec(text)?.[1]);
};
const lastSeq = (client: TestClient) =>
  Math.max(0, ...client.messages.map((m) => (m.type === 'quote' || m.type === 'headline' ? m.seq : 0)));
/** A client's quotes as of `seq`: the latest snapshot, then every delta after it up to `seq`. */
const quotesOf = (messages: ServerMessage[], seq: number) => {
  const state = new Map<string, Quote>();
  for (const m of messages) {
    if (m.type === 'snapshot' && m.channel === 'quotes') {
      state.clear();
      for (const q of m.quotes) state.set(q.symbol, q);
    }
    if (m.type === 'quote' && m.seq <= seq) {
      const { type: _t, seq: _s, ...fields } = m;
      state.set(m.symbol, { ...state.get(m.symbol), ...fields } as Quote);
    }
  }
  return [...state.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
};
/** The server's snapshot, once `client` has had every event up to it. */
const caughtUp = (port: number, client: TestClient) =>
  waitFor(
    async () => {
      const s = await get<{ seq: number; quotes: Quote[] }>(port, '/api/snapshot');
      return lastSeq(client) >= s.seq && s;
    },
    'the client to catch up',
    10_000,
  );

describe('the data dir filling up, on a real 300 KB filesystem', () => {
  const servers: ServerChild[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    rmSync(join(mnt, 'filler'), { force: true });
  });

  const start = async (data: string) => {
    // Clients here follow quotes to the last seq; bars across kill -9 are test/hub/restart.test.ts's.
    const server = await spawnTickstream('serve', [
      ...['--data-dir', data, '--feed', writeFeed(), '--loop', '--speed', '600', '--history-size', '300'],
      '--bar-days',
      '0',
      ...['--port', '0', '--host', '127.0.0.1', '--heartbeat', '60s'],
    ]);
    servers.push(server);
    return server;
  };
  const watch = async (port: number, since?: Position) => {
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    clients.push(client);
    client.send({ op: 'subscribe', id: 1, channel: 'quotes', ...(since && { since }) });
    return client;
  };
  /** Fills the disk and waits for the server to say so; returns the seq it had reached. */
  const fillUntilDegraded = async (server: ServerChild) => {
    fill(join(mnt, 'filler'));
    const health = await waitFor(
      async () => {
        const h = await get<Health>(server.port, '/healthz');
        return h.status === 'degraded' && h;
      },
      'healthz to say degraded',
      10_000,
    );
    expect(health.journal).toMatchObject({ ok: false, error: expect.stringMatching(/ENOSPC|ESHORT/) });
    expect(await journalErrors(server.port)).toBeGreaterThanOrEqual(1);
    expect(server.logs()).toContainEqual(
      expect.objectContaining({
        level: 50,
        msg: expect.stringContaining('Free space in the data directory'),
      }),
    );
    return health.seq;
  };
  /** Every line of the journal is whole JSON: a failed write never leaves a torn one. */
  const expectWholeLines = (data: string) => {
    const text = readFileSync(join(data, 'journal.ndjson'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.trimEnd().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  };

  it('serves on while full, says degraded, and journals again by itself when space returns', async (ctx) => {
    if (disk.cannotMount) ctx.skip(disk.cannotMount);
    const data = join(mnt, 'heal');
    const server = await start(data);
    const client = await watch(server.port);
    await waitFor(() => lastSeq(client) >= 20, 'twenty events', 10_000);

    const failedAt = await fillUntilDegraded(server);
    await waitFor(() => lastSeq(client) > failedAt + 20, 'events go on while the disk is full', 10_000);
    expectWholeLines(data);

    const freedAt = Date.now();
    const servedWhileFull = lastSeq(client) - failedAt;
    rmSync(join(mnt, 'filler'));
    await waitFor(
      async () => (await get<Health>(server.port, '/healthz')).status === 'ok',
      'healthz ok again without a restart',
      40_000,
    );
    expect((await get<Health>(server.port, '/healthz')).journal).toEqual({ ok: true });
    expectWholeLines(data);
    console.info(
      `full disk: ${servedWhileFull}+ events served while the journal failed, ` +
        `${await journalErrors(server.port)} journal errors counted, ` +
        `healthy ${((Date.now() - freedAt) / 1000).toFixed(1)} s after space returned`,
    );

    // Whole again: a kill -9 now loses nothing, and the client resumes in the same epoch.
    const hello = client.ofType('hello')[0]!;
    await server.stop();
    const seen = { epoch: hello.epoch, seq: lastSeq(client) };
    const again = await start(data);
    const resumed = await watch(again.port, seen);
    expect(await resumed.next('subscribed')).toMatchObject({ recovered: true });
    const server2 = await caughtUp(again.port, resumed);
    expect(quotesOf([...client.messages, ...resumed.messages], server2.seq)).toEqual(server2.quotes);
  });

  it('a kill -9 while full restarts in a new epoch: the client that saw lost events gets a snapshot', async (ctx) => {
    if (disk.cannotMount) ctx.skip(disk.cannotMount);
    const data = join(mnt, 'lost');
    const server = await start(data);
    const client = await watch(server.port);
    await waitFor(() => lastSeq(client) >= 20, 'twenty events', 10_000);
    const failedAt = await fillUntilDegraded(server);
    await waitFor(() => lastSeq(client) > failedAt + 20, 'events the journal lost', 10_000);
    await server.stop();
    const hello = client.ofType('hello')[0]!;
    const seen = { epoch: hello.epoch, seq: lastSeq(client) };
    expectWholeLines(data);

    // A restart on a disk still full refuses to start, saying why: a runtime failure, exit 1.
    const cli = ['--import', 'tsx', repoPath('src/cli.ts'), 'serve', '--data-dir', data];
    const refused = spawnSync(
      process.execPath,
      [...cli, '--feed', join(root, 'feed.txt'), '--port', '0', '--host', '127.0.0.1'],
      { cwd: repoPath(''), encoding: 'utf8', timeout: 20_000 },
    );
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^tickstream: --data-dir .*(ENOSPC|disk full)/m);

    rmSync(join(mnt, 'filler'));
    const again = await start(data);
    expect(again.logs()).toContainEqual(expect.objectContaining({ lostEpoch: hello.epoch }));
    const resumed = await watch(again.port, seen);
    expect(await resumed.next('subscribed')).toMatchObject({ recovered: false });
    const fresh = await resumed.next('snapshot');
    expect((await resumed.next('hello')).epoch).not.toBe(hello.epoch);
    // The client's store, rebuilt from the snapshot and what follows, is the server's.
    const state = await caughtUp(again.port, resumed);
    expect(fresh.channel === 'quotes' && fresh.quotes.length).toBe(34);
    expect(quotesOf(resumed.messages, state.seq)).toEqual(state.quotes);
  });
});
