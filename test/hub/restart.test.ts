import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BAR_INTERVALS,
  type Bar,
  type CandlesResponse,
  type Headline,
  type Quote,
  type QuoteMessage,
  type ServerMessage,
} from '../../src/protocol/messages.ts';
import { fixture, TestClient, waitFor } from '../helpers.ts';
import { spawnTickstream, type ServerChild } from '../server-child.ts';

const FRAMES = 120;
const START = Date.parse('2023-11-09T04:31:00.000Z');

/**
 * A replay of FRAMES frames one minute apart: the fixture's first frame (34 quotes and a
 * story), with AIRLINK and HBL moving by 0.01 every frame.
 */
const writeFeed = (dir: string): string => {
  const base = fixture('two-frames.txt').split(/^@@.*$/m)[1]!;
  const frames = Array.from({ length: FRAMES }, (_, k) => {
    const text = base
      .replace('AIRLINK 80.60', `AIRLINK ${(80.6 + k / 100).toFixed(2)}`)
      .replace('HBL 117.85', `HBL ${(117.85 - k / 100).toFixed(2)}`);
    return `@@ ${new Date(START + k * 60_000).toISOString()}\n${text}`;
  });
  const file = join(dir, 'feed.txt');
  writeFileSync(file, frames.join('\n'));
  return file;
};

const dirs: string[] = [];
const servers: ServerChild[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const startServer = async (args: string[]): Promise<ServerChild> => {
  const server = await spawnTickstream('serve', args);
  servers.push(server);
  return server;
};

const get = async <T>(port: number, path: string): Promise<T> =>
  (await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as T;

/** A client's view: the snapshot, then every delta applied. */
const applyAll = (messages: ServerMessage[], state = new Map<string, Quote>()) => {
  const redundant: QuoteMessage[] = [];
  for (const m of messages) {
    if (m.type === 'snapshot' && m.channel === 'quotes') for (const q of m.quotes) state.set(q.symbol, q);
    if (m.type !== 'quote') continue;
    const prev = state.get(m.symbol);
    const { type: _t, seq: _s, ...fields } = m;
    const next = { ...prev, ...fields } as Quote;
    // A delta that leaves every value as the client had it was announced twice.
    if (
      prev &&
      (['kind', 'price', 'change', 'changePercent', 'direction'] as const).every((f) => prev[f] === next[f])
    )
      redundant.push(m);
    state.set(m.symbol, next);
  }
  return { state, redundant };
};
/** A client's bars of one interval: its snapshots, then each candle replacing its bar. */
const heldBars = (messages: ServerMessage[], interval: Bar['interval']): Bar[] => {
  const bars = new Map<string, Bar>();
  for (const m of messages) {
    const got =
      m.type === 'snapshot' && m.channel === 'candles' && m.interval === interval
        ? m.candles
        : m.type === 'candle' && m.interval === interval
          ? [(({ type: _t, seq: _s, ...bar }) => bar)(m)]
          : [];
    for (const b of got) bars.set(`${b.symbol} ${b.start}`, b);
  }
  return [...bars.values()].sort((a, b) =>
    a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.start < b.start ? -1 : 1,
  );
};
const lastSeq = (client: TestClient) =>
  Math.max(0, ...client.messages.map((m) => ('seq' in m && m.type !== 'heartbeat' ? m.seq : 0)));

describe('serve --data-dir across kill -9', () => {
  it('continues the same epoch and seq, and a client resumes with recovered:true to the exact state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickstream-restart-'));
    dirs.push(dir);
    const args = [
      ...['--data-dir', join(dir, 'data'), '--feed', writeFeed(dir), '--speed', '1200'],
      ...['--port', '0', '--host', '127.0.0.1', '--heartbeat', '60s'],
    ];

    const first = await startServer(args);
    const before = await TestClient.connect(`ws://127.0.0.1:${first.port}/ws`);
    before.send({ op: 'subscribe', channel: 'quotes' });
    before.send({ op: 'subscribe', channel: 'headlines' });
    for (const interval of BAR_INTERVALS) before.send({ op: 'subscribe', channel: 'candles', interval });
    await waitFor(() => before.ofType('quote').length >= 10, 'ten deltas before the kill', 10_000);
    first.child.kill('SIGKILL');
    await first.exited;
    await waitFor(() => before.closeCode, 'the socket to drop');
    const hello = before.ofType('hello')[0]!;
    const seen = lastSeq(before);
    const { state } = applyAll(before.messages);
    expect(state.get('AIRLINK')!.price).toBeLessThan(80.6 + (FRAMES - 1) / 100);

    const second = await startServer(args);
    const after = await TestClient.connect(`ws://127.0.0.1:${second.port}/ws`);
    const resumedHello = await after.next('hello');
    expect(resumedHello.epoch).toBe(hello.epoch);
    expect(resumedHello.seq).toBeGreaterThanOrEqual(seen);
    after.send({ op: 'subscribe', id: 1, channel: 'quotes', since: { epoch: hello.epoch, seq: seen } });
    after.send({ op: 'subscribe', id: 2, channel: 'headlines', since: { epoch: hello.epoch, seq: seen } });
    expect(await after.next('subscribed', (m) => m.id === 1)).toMatchObject({ recovered: true });
    expect(await after.next('subscribed', (m) => m.id === 2)).toMatchObject({ recovered: true });
    for (const interval of BAR_INTERVALS)
      after.send({
        op: 'subscribe',
        id: interval,
        channel: 'candles',
        interval,
        since: { epoch: hello.epoch, seq: seen },
      });
    for (const interval of BAR_INTERVALS)
      expect(await after.next('subscribed', (m) => m.id === interval)).toMatchObject({ recovered: true });

    const health = await waitFor(
      async () => {
        const h = await get<{ seq: number; source: string }>(second.port, '/healthz');
        return h.source === 'ended' && lastSeq(after) === h.seq && h;
      },
      'the replay to end and the client to catch up',
      15_000,
    );
    // Events of the second run follow the first run's seq, one by one.
    const seqs = after.messages.flatMap((m) => (m.type === 'quote' || m.type === 'headline' ? [m.seq] : []));
    expect(seqs[0]).toBeGreaterThan(seen);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);

    // The replay went on from where it was: AIRLINK never moved back to an earlier price.
    const airlink = after.ofType('quote').flatMap((m) => (m.symbol === 'AIRLINK' ? [m.price!] : []));
    expect(airlink[0]).toBeGreaterThan(state.get('AIRLINK')!.price);
    expect(airlink).toEqual([...airlink].sort((a, b) => a - b));
    const { redundant } = applyAll(after.messages, state);
    expect(redundant).toEqual([]);
    const server = await get<{ seq: number; quotes: Quote[] }>(second.port, '/api/snapshot');
    expect(server.seq).toBeGreaterThanOrEqual(health.seq);
    expect([...state.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : 1))).toEqual(server.quotes);
    expect(state.get('AIRLINK')!.price).toBe(Number((80.6 + (FRAMES - 1) / 100).toFixed(2)));
    // Bars survived the kill: what the client folded from both runs is what the server holds.
    for (const interval of BAR_INTERVALS)
      await waitFor(async () => {
        const { candles } = await get<CandlesResponse>(second.port, `/api/candles?interval=${interval}`);
        const held = heldBars([...before.messages, ...after.messages], interval);
        return candles.length > 0 && JSON.stringify(held) === JSON.stringify(candles);
      }, `the client's ${interval} bars to equal the server's`);
    const { candles: days } = await get<CandlesResponse>(
      second.port,
      '/api/candles?interval=1d&symbols=AIRLINK',
    );
    expect(days).toMatchObject([
      { open: 80.6, close: Number((80.6 + (FRAMES - 1) / 100).toFixed(2)), updates: FRAMES },
    ]);
    // The story was published once, before the kill, and not again after it.
    expect(after.ofType('headline')).toEqual([]);
    const { headlines } = await get<{ headlines: Headline[] }>(second.port, '/api/headlines');
    expect(headlines).toHaveLength(1);

    await Promise.all([before.close(), after.close()]);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // A graceful stop leaves the whole state compacted into one file.
    const journal = readFileSync(join(dir, 'data', 'journal.ndjson'), 'utf8')
      .trim()
      .split('\n');
    expect(journal).toHaveLength(1);
    // The feed's clock may still have closed bars after the last look at /healthz.
    const header = JSON.parse(journal[0]!) as { epoch: string; seq: number };
    expect(header.epoch).toBe(hello.epoch);
    expect(header.seq).toBeGreaterThanOrEqual(health.seq);
  }, 60_000);
});
