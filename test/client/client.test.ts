import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import {
  connect,
  MAX_REFUSALS,
  TOKEN_TIMEOUT_MS,
  type ClientEvents,
  type TickstreamClient,
} from '../../client/index.ts';
import type { Running } from '../../src/serve.ts';
import { fixtureFrames, startWithFrames, waitFor } from '../helpers.ts';
import { FlakyProxy } from './proxy.ts';

const [first, second] = fixtureFrames('two-frames.txt');
const fast = { WebSocket, backoff: { baseMs: 20, capMs: 100 } };

const TS = '2023-11-09T04:31:00.000Z';
/** A whole quote as a scripted server sends it. */
const wholeQuote = (symbol: string, v = 1) => ({
  symbol,
  kind: 'stock',
  price: 100,
  change: 1,
  changePercent: 1,
  direction: 'up',
  v,
  ts: TS,
});

/** Records every event of a client, by type. */
const record = (client: TickstreamClient) => {
  const seen: { [K in keyof ClientEvents]: ClientEvents[K][] } = {
    state: [],
    snapshot: [],
    quote: [],
    resync: [],
    headline: [],
    candle: [],
    status: [],
    notice: [],
    error: [],
  };
  for (const type of Object.keys(seen) as (keyof ClientEvents)[])
    client.on(type, (e) => (seen[type] as unknown[]).push(e));
  return seen;
};

describe('client library against a real server', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  const start = async (overrides: Parameters<typeof startWithFrames>[0] = {}) => {
    const started = await startWithFrames(overrides);
    cleanup.push(() => started.running.close());
    return started;
  };
  /**
   * A scripted server on a real socket, for what the real one cannot be made to send, or not at
   * the moment a test needs: it says hello, then `script` answers each connection.
   */
  const scripted = async (script: (ws: WebSocket) => void, heartbeatMs = 60_000) => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss.once('listening', resolve));
    cleanup.push(() => new Promise((resolve) => wss.close(resolve)));
    wss.on('connection', (ws) => {
      ws.send(JSON.stringify({ type: 'hello', version: 1, epoch: 'e1', seq: 1, heartbeatMs }));
      script(ws);
    });
    return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`;
  };
  const open = (url: string, options = {}) => {
    const client = connect(url, { ...fast, ...options });
    cleanup.push(() => client.close());
    return client;
  };
  /** A server holding bars, after the first frame: the day's 34 first 5m bars. */
  const startWithBars = async (
    transport: NonNullable<Parameters<typeof startWithFrames>[0]>['transport'] = {},
  ) => {
    const started = await start({ hub: { barDays: 5 }, transport });
    started.frames$.next(first!);
    await waitFor(() => started.running.hub.queryBars({ interval: '5m' }).length === 34, 'the first bars');
    return started;
  };

  it('holds the bars of a candles subscription: the snapshot, then each candle applied', async () => {
    const { running, frames$ } = await startWithBars();
    const client = open(running.server.url);
    const seen = record(client);
    client.subscribe('candles', ['AIRLINK', 'HBL'], { interval: '5m' });
    await waitFor(() => seen.snapshot.some((s) => s.channel === 'candles'), 'the candles snapshot');
    frames$.next(second!);
    await waitFor(() => seen.candle.length === 2, 'two candles');
    for (const symbol of ['AIRLINK', 'HBL'])
      expect(client.candles.bars('5m', symbol)).toEqual(
        running.hub.queryBars({ interval: '5m', symbol: (s) => s === symbol }),
      );
    expect(client.candles.bars('5m', 'AIRLINK')[0]).toMatchObject({ open: 80.6, close: 81.1, updates: 2 });
  });

  it('takes a candle snapshot shared from a moment before without moving its position back', async () => {
    const { running, frames$ } = await startWithBars();
    // Another subscriber has the server build the AIRLINK 5m snapshot at this seq.
    const other = open(running.server.url);
    const otherSeen = record(other);
    other.subscribe('candles', ['AIRLINK'], { interval: '5m' });
    await waitFor(() => otherSeen.snapshot.some((s) => s.channel === 'candles'), 'the first snapshot');
    frames$.next(second!);
    await waitFor(() => running.hub.seq === 38, 'the second frame in the hub');

    const client = open(running.server.url);
    const seen = record(client);
    client.subscribe('quotes');
    await waitFor(() => client.position?.seq === 38, 'the quotes snapshot at the head');
    client.subscribe('candles', ['AIRLINK'], { interval: '5m' });
    await waitFor(() => seen.candle.length > 0, 'the candles since the shared snapshot');
    expect(client.candles.bars('5m', 'AIRLINK')).toEqual(
      running.hub.queryBars({ interval: '5m', symbol: (s) => s === 'AIRLINK' }),
    );
    // AIRLINK's last change came before the head (seq 38, another symbol's): the shared
    // snapshot and the candles since, older still, left the position where the quotes took it.
    expect(client.position).toEqual({ epoch: running.hub.epoch, seq: 38 });
  });

  it('sends a subscribe the server refused for now again when it says, and gets its answer', async () => {
    // 25 items a second, a burst of fifty: on open the quotes snapshot (34 quotes and the
    // request's 10) and the headlines one (1 and 10) take the address into debt, so the
    // candles subscribe behind them is refused for about 0.24 s.
    const { running } = await startWithBars({ limits: { maxItemsPerIp: 25 } });
    const client = open(running.server.url);
    const seen = record(client);
    client.subscribe('quotes');
    client.subscribe('headlines');
    client.subscribe('candles', undefined, { interval: '5m' });
    await waitFor(() => seen.snapshot.some((s) => s.channel === 'candles'), 'the candles snapshot');
    expect(seen.error).toEqual([
      expect.objectContaining({ code: 'rate_limited', retryAfterMs: expect.any(Number) }),
    ]);
    expect(client.candles.bars('5m', 'AIRLINK')).toEqual(
      running.hub.queryBars({ interval: '5m', symbol: (s) => s === 'AIRLINK' }),
    );
    expect(seen.snapshot.map((s) => s.channel)).toEqual(['quotes', 'headlines', 'candles']);
  });

  it('holds whole quotes: the snapshot, then each delta applied', async () => {
    const { running, frames$ } = await start();
    frames$.next(first!);
    await waitFor(() => running.hub.seq === 35, 'the first frame in the hub');
    const client = open(running.server.url);
    const seen = record(client);
    client.subscribe('quotes');
    await waitFor(() => client.quotes.size === 34, 'a 34-quote snapshot');

    frames$.next(second!);
    await waitFor(() => seen.quote.length === 3, 'three updates');
    expect(client.quotes.get('HBL')).toEqual({
      symbol: 'HBL',
      kind: 'stock',
      price: 117.93,
      change: 0,
      changePercent: 0,
      direction: 'unchanged',
      open: 117.85,
      high: 117.93,
      low: 117.85,
      prevClose: 117.93,
      v: 2,
      ts: '2023-11-09T04:31:30.000Z',
    });
    expect(seen.quote.map((u) => [u.quote.symbol, u.changed])).toEqual([
      ['AIRLINK', ['price', 'change', 'changePercent', 'high']],
      ['HBL', ['price', 'change', 'changePercent', 'direction', 'high']],
      ['KSE100', ['price', 'change', 'changePercent', 'high']],
    ]);
    expect(client.quotes.all()).toEqual(running.hub.snapshot());
    expect(client.position).toEqual({ epoch: running.hub.epoch, seq: 38 });
    expect(seen.state.map((s) => s.newState)).toEqual(['open']);
  });

  it('resumes after a dropped connection with every missed delta and no resync', async () => {
    const { running, frames$ } = await start();
    frames$.next(first!);
    const proxy = await FlakyProxy.start(running.server.port);
    cleanup.push(() => proxy.close());
    const client = open(proxy.url);
    const seen = record(client);
    client.subscribe('quotes', ['AIRLINK', 'HBL', 'BOP']);
    client.subscribe('headlines');
    await waitFor(() => client.quotes.size === 3 && client.headlines.length === 1, 'both snapshots');

    proxy.drop({ refuse: true });
    await waitFor(() => client.state === 'reconnecting', 'the client to notice the drop');
    frames$.next(second!);
    await waitFor(() => running.hub.seq === 38, 'the second frame in the hub');
    proxy.restore();

    await waitFor(() => client.quotes.get('AIRLINK')?.v === 2 && client.state === 'open', 'the resume');
    expect(client.quotes.all()).toEqual(running.hub.snapshot((s) => ['AIRLINK', 'HBL', 'BOP'].includes(s)));
    expect(seen.resync).toEqual([]);
    // The missed changes came as deltas, not as a second snapshot.
    expect(seen.snapshot).toHaveLength(2);
    expect(seen.quote.map((u) => u.quote.symbol)).toEqual(['AIRLINK', 'HBL']);
    expect(seen.state.map((s) => s.newState)).toEqual(['open', 'reconnecting', 'open']);
    expect(client.position).toEqual({ epoch: running.hub.epoch, seq: 37 });
  });

  it('resumes across a server restart with --data-dir: same epoch, no missed delta, no resync', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tickstream-client-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const a = await startWithFrames({ hub: { dataDir } });
    a.frames$.next(first!);
    await waitFor(() => a.running.hub.seq === 35, 'the first frame');
    const { epoch } = a.running.hub;
    const port = a.running.server.port;
    const proxy = await FlakyProxy.start(port);
    cleanup.push(() => proxy.close());
    const client = open(proxy.url);
    const seen = record(client);
    client.subscribe('quotes');
    await waitFor(() => client.quotes.size === 34, 'the snapshot');

    // Down, and unreachable while the restarted server moves on, so the client has to resume.
    proxy.drop({ refuse: true });
    await a.running.close();
    const b = await start({ hub: { dataDir }, transport: { port } });
    expect(b.running.hub.epoch).toBe(epoch);
    b.frames$.next(second!);
    await waitFor(() => b.running.hub.seq === 38, 'the second frame in the restarted server');
    proxy.restore();

    await waitFor(() => client.position?.seq === 38, 'the resume');
    expect(client.quotes.all()).toEqual(b.running.hub.snapshot());
    expect(seen.resync).toEqual([]);
    expect(seen.snapshot).toHaveLength(1);
    expect(seen.quote.map((u) => u.quote.symbol)).toEqual(['AIRLINK', 'HBL', 'KSE100']);
    expect(client.position).toEqual({ epoch, seq: 38 });
  });

  it('replaces the store and emits resync when the server restarts with a new epoch', async () => {
    const a = await startWithFrames();
    a.frames$.next(first!);
    await waitFor(() => a.running.hub.seq === 35, 'the first frame');
    const port = a.running.server.port;
    const client = open(a.running.server.url);
    const seen = record(client);
    client.subscribe('quotes');
    await waitFor(() => client.quotes.size === 34, 'the snapshot');
    await a.running.close();

    const b = await start({ transport: { port } });
    b.frames$.next({ text: 'AIRLINK 90.00 Increased By ▲ 10.59 (13.3%)', origin: 'test' });
    await waitFor(() => b.running.hub.seq === 1, 'the new server to hold one quote');

    await waitFor(() => seen.resync.length === 1, 'a resync');
    expect(client.quotes.all()).toEqual(b.running.hub.snapshot());
    expect(seen.resync[0]).toEqual({ epoch: b.running.hub.epoch, quotes: b.running.hub.snapshot() });
    expect(client.position).toEqual({ epoch: b.running.hub.epoch, seq: 1 });
  });

  it('reconnects when the server goes silent for two heartbeats without closing', async () => {
    const { running, frames$ } = await start({ transport: { heartbeatMs: 100 } });
    frames$.next(first!);
    const proxy = await FlakyProxy.start(running.server.port);
    cleanup.push(() => proxy.close());
    const client = open(proxy.url);
    const seen = record(client);
    client.subscribe('quotes');
    await waitFor(() => client.quotes.size === 34, 'the snapshot');

    proxy.freeze();
    frames$.next(second!);
    await waitFor(() => client.quotes.get('AIRLINK')?.v === 2, 'the update after the reconnect');
    expect(seen.error.map((e) => e.code)).toEqual(['heartbeat_timeout']);
    expect(seen.state.map((s) => s.newState)).toEqual(['open', 'reconnecting', 'open']);
    expect(client.quotes.all()).toEqual(running.hub.snapshot());
  });

  it('forgets unsubscribed symbols and gets no more of their updates', async () => {
    const { running, frames$ } = await start();
    frames$.next(first!);
    const client = open(running.server.url);
    const seen = record(client);
    client.subscribe('quotes', ['AIRLINK', 'HBL']);
    await waitFor(() => client.quotes.size === 2, 'the snapshot');
    client.unsubscribe('quotes', ['AIRLINK']);
    frames$.next(second!);
    await waitFor(() => client.quotes.get('HBL')?.v === 2, 'the HBL update');
    expect(client.quotes.all().map((q) => q.symbol)).toEqual(['HBL']);
    expect(seen.quote.map((u) => u.quote.symbol)).toEqual(['HBL']);
  });

  it('keeps the quotes a remaining pattern still covers when a name is unsubscribed', async () => {
    const { running, frames$ } = await start();
    frames$.next(first!);
    const client = open(running.server.url);
    const seen = record(client);
    client.subscribe('quotes', ['AIRLINK', 'AIR*', 'HBL']);
    await waitFor(() => client.quotes.size === 2, 'the snapshot');
    client.unsubscribe('quotes', ['AIRLINK']);
    expect(client.quotes.all().map((q) => q.symbol)).toEqual(['AIRLINK', 'HBL']);
    frames$.next(second!);
    // The server still sends AIRLINK for AIR*: its delta applies to the quote held, no gap.
    await waitFor(() => client.quotes.get('AIRLINK')?.v === 2, 'the AIRLINK update');
    expect(seen.error).toEqual([]);
  });

  it('drops what the server sent before it read an unsubscribe: no gap, no resync, nothing back', async () => {
    // Scripted, to put the stray messages exactly between the unsubscribe and the server reading it.
    const ts = TS;
    const bar = {
      symbol: 'HBL',
      interval: '5m',
      start: ts,
      open: 1,
      high: 1,
      low: 1,
      close: 1,
      updates: 1,
      closed: false,
    };
    const url = await scripted((ws) => {
      ws.on('message', (data) => {
        const request = JSON.parse(String(data)) as {
          op: string;
          id?: number;
          channel: string;
          symbols?: string[];
        };
        if (request.op === 'subscribe') {
          const { id, channel } = request;
          ws.send(JSON.stringify({ type: 'subscribed', id, channel, recovered: false }));
          const quotes = (request.symbols ?? []).map((symbol) => wholeQuote(symbol));
          if (channel === 'quotes') ws.send(JSON.stringify({ type: 'snapshot', channel, seq: 1, quotes }));
          else if (channel === 'candles')
            ws.send(JSON.stringify({ type: 'snapshot', channel, interval: '5m', seq: 1, candles: [] }));
          else ws.send(JSON.stringify({ type: 'snapshot', channel, seq: 1, headlines: [] }));
        } else if (request.channel === 'headlines')
          ws.send(
            JSON.stringify([
              { type: 'quote', seq: 2, symbol: 'OGDC', v: 2, price: 101, ts },
              { type: 'quote', seq: 3, ...wholeQuote('OGDC', 3) },
              { type: 'candle', seq: 4, ...bar },
              { type: 'headline', seq: 5, id: 'h1', dateline: '', title: 'late', text: '', ts },
              { type: 'quote', seq: 6, symbol: 'HBL', v: 2, price: 102, ts },
            ]),
          );
      });
    });
    const client = open(url);
    const seen = record(client);
    client.subscribe('quotes', ['HBL', 'OGDC']);
    client.subscribe('headlines');
    client.subscribe('candles', ['HBL'], { interval: '5m' });
    await waitFor(() => client.quotes.size === 2 && seen.snapshot.length === 3, 'the three snapshots');
    // Its snapshot is sent after this unsubscribe, which the server never reads in time.
    client.subscribe('quotes', ['PSO']);
    client.unsubscribe('quotes', ['PSO']);
    client.unsubscribe('quotes', ['OGDC']);
    client.unsubscribe('candles', undefined, { interval: '5m' });
    client.unsubscribe('headlines');
    await waitFor(() => seen.quote.some((u) => u.quote.v === 2), 'the HBL update behind the strays');
    expect(client.quotes.all().map((q) => q.symbol)).toEqual(['HBL']);
    expect(seen.quote.map((u) => u.quote.symbol)).toEqual(['HBL']);
    expect(seen.error).toEqual([]);
    expect(seen.resync).toEqual([]);
    expect(client.headlines).toEqual([]);
    expect(seen.headline).toEqual([]);
    expect(client.candles.bars('5m', 'HBL')).toEqual([]);
    expect(seen.candle).toEqual([]);
  });

  it('gets a snapshot, not a resume, for symbols subscribed while it was reconnecting', async () => {
    const { running, frames$ } = await start();
    frames$.next(first!);
    const proxy = await FlakyProxy.start(running.server.port);
    cleanup.push(() => proxy.close());
    const client = open(proxy.url);
    client.subscribe('quotes', ['AIRLINK']);
    await waitFor(() => client.quotes.size === 1, 'the AIRLINK snapshot');

    proxy.drop({ refuse: true });
    await waitFor(() => client.state === 'reconnecting', 'the client to notice the drop');
    client.subscribe('quotes', ['HBL']);
    proxy.restore();
    // Nothing changed meanwhile: a resume would send nothing, and HBL would never come.
    await waitFor(() => client.quotes.get('HBL'), 'the HBL quote', 3000);
    expect(client.quotes.all()).toEqual(running.hub.snapshot((s) => ['AIRLINK', 'HBL'].includes(s)));
    expect(client.position).toEqual({ epoch: running.hub.epoch, seq: 35 });
  });

  it('gets a snapshot, not a resume, for a subscribe still unanswered when the connection dropped', async () => {
    // Scripted: the first connection dies on the second subscribe, before answering it.
    let connections = 0;
    const resumed: unknown[] = [];
    const url = await scripted((ws) => {
      const connection = ++connections;
      ws.on('message', (data) => {
        const request = JSON.parse(String(data)) as { id?: number; symbols: string[]; since?: unknown };
        if (connection === 1 && request.symbols.includes('OGDC')) return ws.terminate();
        if (connection > 1) resumed.push(request.since);
        const recovered = request.since !== undefined;
        ws.send(JSON.stringify({ type: 'subscribed', id: request.id, channel: 'quotes', recovered }));
        const quotes = request.symbols.map((symbol) => wholeQuote(symbol));
        if (!recovered) ws.send(JSON.stringify({ type: 'snapshot', channel: 'quotes', seq: 1, quotes }));
      });
    });
    const client = open(url);
    client.subscribe('quotes', ['HBL']);
    await waitFor(() => client.quotes.size === 1, 'the HBL snapshot');
    client.subscribe('quotes', ['OGDC']);
    await waitFor(() => client.quotes.get('OGDC'), 'the OGDC quote after the reconnect', 3000);
    expect(resumed).toEqual([undefined]);
    expect(client.quotes.all().map((q) => q.symbol)).toEqual(['HBL', 'OGDC']);
  });

  it('resumes the candles of every symbol subscribed at an interval, not only the last call', async () => {
    const { running, frames$ } = await startWithBars();
    const proxy = await FlakyProxy.start(running.server.port);
    cleanup.push(() => proxy.close());
    const client = open(proxy.url);
    const seen = record(client);
    client.subscribe('candles', ['AIRLINK'], { interval: '5m' });
    await waitFor(() => seen.snapshot.length === 1, 'the AIRLINK candles');
    client.subscribe('candles', ['HBL'], { interval: '5m' });
    await waitFor(() => seen.snapshot.length === 2, 'the HBL candles');

    proxy.drop({ refuse: true });
    await waitFor(() => client.state === 'reconnecting', 'the client to notice the drop');
    frames$.next(second!);
    await waitFor(() => running.hub.seq === 38, 'the second frame in the hub');
    proxy.restore();

    await waitFor(() => seen.candle.length === 2, 'the missed candles of both symbols', 3000);
    for (const symbol of ['AIRLINK', 'HBL'])
      expect(client.candles.bars('5m', symbol)).toEqual(
        running.hub.queryBars({ interval: '5m', symbol: (s) => s === symbol }),
      );
  });

  it('unsubscribes candle symbols as the server does: the rest stay, and resume after a drop', async () => {
    const { running, frames$ } = await startWithBars();
    const proxy = await FlakyProxy.start(running.server.port);
    cleanup.push(() => proxy.close());
    const client = open(proxy.url);
    const seen = record(client);
    client.subscribe('candles', ['AIRLINK', 'HBL'], { interval: '5m' });
    client.subscribe('candles', ['HBL'], { interval: '1h' });
    await waitFor(() => seen.snapshot.length === 2, 'both snapshots');
    client.unsubscribe('candles', ['AIRLINK'], { interval: '5m' });
    client.unsubscribe('candles', undefined, { interval: '1h' });
    expect(client.candles.bars('5m', 'AIRLINK')).toEqual([]);
    expect(client.candles.bars('1h', 'HBL')).toEqual([]);
    expect(client.candles.bars('5m', 'HBL')).toHaveLength(1);

    proxy.drop({ refuse: true });
    await waitFor(() => client.state === 'reconnecting', 'the client to notice the drop');
    frames$.next(second!);
    await waitFor(() => running.hub.seq === 38, 'the second frame in the hub');
    proxy.restore();
    await waitFor(() => seen.candle.length > 0, 'the missed candle');
    expect(seen.candle.map((c) => [c.symbol, c.interval])).toEqual([['HBL', '5m']]);
    expect(client.candles.bars('5m', 'HBL')).toEqual(
      running.hub.queryBars({ interval: '5m', symbol: (s) => s === 'HBL' }),
    );
    expect(seen.error).toEqual([]);
  });

  it('refuses a candles subscribe without an interval at once, and keeps nothing of it', async () => {
    const { running } = await startWithBars();
    const client = open(running.server.url);
    const seen = record(client);
    client.subscribe('candles', ['AIRLINK']);
    expect(seen.error).toEqual([
      { code: 'bad_request', message: 'interval: a candles subscription needs one of 1m, 5m, 15m, 1h or 1d' },
    ]);
    // Not taken for a headlines subscription either: the first open sends nothing.
    await waitFor(() => client.state === 'open', 'the connection');
    client.subscribe('quotes', ['HBL']);
    await waitFor(() => client.quotes.get('HBL'), 'the HBL quote');
    expect(seen.snapshot.map((s) => s.channel)).toEqual(['quotes']);
  });

  it('keeps trying a server that is full, and gets in once a place frees up', async () => {
    const { running, frames$ } = await start({ transport: { limits: { maxConnections: 1 } } });
    frames$.next(first!);
    const held = open(running.server.url);
    held.subscribe('quotes');
    await waitFor(() => held.quotes.size > 0, 'the first client in');
    const client = open(running.server.url);
    const seen = record(client);
    client.subscribe('quotes', ['AIRLINK']);
    // Refused with 1013, try again later: a full server is no reason to stop for good.
    const refusals = async () => (await running.server.metrics.refused.get()).values[0]?.value ?? 0;
    await waitFor(async () => (await refusals()) >= 2, 'two refusals');
    expect(client.state).toBe('reconnecting');
    held.close();
    await waitFor(() => client.quotes.get('AIRLINK'), 'the quote once in');
    expect(client.refusal).toBeUndefined();
    expect(seen.error).toEqual([]);
  });

  it('reports a URL it cannot use and ends closed, without throwing', async () => {
    const client = open('not a url');
    const seen = record(client);
    await waitFor(() => client.state === 'closed', 'the client to give up');
    expect(seen.error.map((e) => e.code)).toEqual(['bad_url']);
  });

  it.skipIf('WebSocket' in globalThis)('asks for a WebSocket class where the runtime has none', () => {
    expect(() => connect('ws://127.0.0.1:1/ws')).toThrow(/pass options.WebSocket/);
  });

  it('waits at most five minutes to resend a refused subscribe, however long the server says', async () => {
    // A scripted server refusing every subscribe for 2^40 ms: a timer that long fires at once.
    const requests: { id?: number }[] = [];
    const url = await scripted((ws) => {
      ws.on('message', (data) => {
        const request = JSON.parse(String(data)) as { id?: number };
        requests.push(request);
        const refusal = { type: 'error', id: request.id, code: 'rate_limited', message: 'later' };
        ws.send(JSON.stringify({ ...refusal, retryAfterMs: 2 ** 40 }));
      });
    }, 3_600_000);
    const scheduler = new VirtualTimeScheduler();
    const until = (ms: number) => {
      scheduler.maxFrames = ms;
      scheduler.flush();
    };
    const client = open(url, { scheduler });
    const seen = record(client);
    client.subscribe('quotes', ['HBL']);
    await waitFor(() => seen.error.length === 1, 'the refusal');
    until(4 * 60_000);
    expect(requests).toHaveLength(1);
    until(7 * 60_000);
    await waitFor(() => requests.length === 2, 'the subscribe sent again');
    expect(requests[1]!.id).not.toBe(requests[0]!.id);
  });

  it('validates what it receives: skips unknown types, refuses a bad quote and resyncs', async () => {
    // A misbehaving server, scripted: the real one cannot be made to send a bad message.
    const requests: { op: string; id?: number }[] = [];
    const ts = TS;
    const url = await scripted((ws) => {
      ws.on('message', (data) => {
        const request = JSON.parse(String(data)) as { op: string; id?: number };
        requests.push(request);
        ws.send(JSON.stringify({ type: 'subscribed', id: request.id, channel: 'quotes', recovered: false }));
        ws.send(JSON.stringify({ type: 'snapshot', channel: 'quotes', seq: 1, quotes: [wholeQuote('HBL')] }));
        if (requests.length > 1) return;
        ws.send(
          JSON.stringify([
            { type: 'trade', seq: 2, symbol: 'HBL' },
            { type: 'quote', seq: 3, symbol: 'HBL', v: 2, price: '101', ts },
          ]),
        );
      });
    });
    const client = open(url);
    const seen = record(client);
    client.subscribe('quotes', ['HBL']);
    await waitFor(() => requests.length === 2, 'a resync after the bad quote');
    expect(seen.error.map((e) => e.code)).toEqual(['bad_message']);
    expect(seen.error[0]!.message).toMatch(/quote: price/);
    expect(seen.quote).toEqual([]);
    expect(client.quotes.get('HBL')?.price).toBe(100);
  });

  it('close() twice is safe and stops reconnecting', async () => {
    const running: Running = (await start()).running;
    const client = open(running.server.url);
    await waitFor(() => client.state === 'open', 'the connection');
    client.close();
    client.close();
    expect(client.state).toBe('closed');
    await waitFor(() => running.server.clientCount() === 0, 'the server to see the client leave');
  });

  describe('with a token', () => {
    const secret = 'client-test-secret';
    const key = new TextEncoder().encode(secret);
    const token = (expInSeconds: number) =>
      new SignJWT({ sub: 'reader' })
        .setProtectedHeader({ alg: 'HS256' })
        // exp need not be whole seconds: this one lapses exactly expInSeconds from now.
        .setExpirationTime(Date.now() / 1000 + expInSeconds)
        .sign(key);
    const startSecured = () =>
      start({ transport: { security: { allowOrigins: [], jwt: { secret, leewaySeconds: 0 } } } });
    const refusedCount = async (running: Running) =>
      (await running.server.metrics.refused.get()).values.reduce((n, v) => n + v.value, 0);

    it('without getToken, stops at the first refusal and says why', async () => {
      const { running } = await startSecured();
      const client = open(running.server.url);
      const seen = record(client);
      await waitFor(() => client.state === 'failed', 'the client to give up');
      expect(client.refusal).toBe('a token is required (?token= or Authorization: Bearer)');
      expect(seen.error).toEqual([{ code: 'refused', message: client.refusal }]);
      expect(seen.state.map((s) => s.newState)).toEqual(['failed']);
      expect(await refusedCount(running)).toBe(1);
    });

    it('gives up on a getToken that never answers after TOKEN_TIMEOUT_MS, and asks again', async () => {
      const { running, frames$ } = await startSecured();
      frames$.next(first!);
      const scheduler = new VirtualTimeScheduler();
      const until = (ms: number) => {
        scheduler.maxFrames = ms;
        scheduler.flush();
      };
      let asked = 0;
      const client = open(running.server.url, {
        scheduler,
        // The first answer never comes (a token service that hangs); the second does.
        getToken: () => (++asked === 1 ? new Promise<string>(() => {}) : token(600)),
      });
      const seen = record(client);
      client.subscribe('quotes', ['HBL']);
      await waitFor(() => asked === 1, 'the first ask');
      until(TOKEN_TIMEOUT_MS - 1);
      expect(seen.error).toEqual([]);
      until(TOKEN_TIMEOUT_MS);
      await waitFor(() => seen.error.length === 1, 'the timeout reported');
      expect(seen.error[0]).toEqual({
        code: 'token_unavailable',
        message: 'getToken failed: no token within 30 s',
      });
      // Past the backoff (at most 100 ms here), short of the second ask's own timeout.
      until(TOKEN_TIMEOUT_MS + 1_000);
      await waitFor(() => client.quotes.get('HBL'), 'the quote with the second token');
      expect(asked).toBe(2);
    });

    it('asks getToken before each connect: when its token expires it reconnects with a fresh one and resumes', async () => {
      const { running, frames$ } = await startSecured();
      frames$.next(first!);
      const lifetimes = [2, 600];
      const asked: number[] = [];
      const client = open(running.server.url, {
        getToken: async () => {
          const life = lifetimes[asked.length] ?? 600;
          asked.push(life);
          return token(life);
        },
      });
      const seen = record(client);
      client.subscribe('quotes');
      await waitFor(() => client.state === 'open' && client.quotes.size === 34, 'the first connection');
      await waitFor(
        () => asked.length === 2 && client.state === 'open',
        'a reconnect with a fresh token',
        5000,
      );
      expect(seen.error).toContainEqual({ code: 'refused', message: 'token expired' });
      frames$.next(second!);
      await waitFor(() => client.quotes.get('AIRLINK')?.price === 81.1, 'updates after the reconnect');
      expect(client.refusal).toBeUndefined();
    });

    it(`with getToken, stops after ${MAX_REFUSALS} refusals in a row`, async () => {
      const { running } = await startSecured();
      let asked = 0;
      const client = open(running.server.url, { getToken: () => (asked++, 'not-a-jwt') });
      const seen = record(client);
      await waitFor(() => client.state === 'failed', 'the client to give up');
      expect(asked).toBe(MAX_REFUSALS);
      expect(seen.error.map((e) => e.code)).toEqual(Array(MAX_REFUSALS).fill('refused'));
      expect(client.refusal).toBe('token is not a valid JWT');
      expect(await refusedCount(running)).toBe(MAX_REFUSALS);
    });

    it('reports a getToken that throws and tries again later', async () => {
      const { running } = await startSecured();
      let calls = 0;
      const client = open(running.server.url, {
        getToken: () => {
          if (calls++ === 0) throw new Error('identity provider down');
          return token(600);
        },
      });
      const seen = record(client);
      await waitFor(() => client.state === 'open', 'the connection after the retry');
      expect(seen.error).toEqual([
        { code: 'token_unavailable', message: 'getToken failed: identity provider down' },
      ]);
    });
  });
});
