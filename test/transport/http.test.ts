import { afterEach, describe, expect, it } from 'vitest';
import type { Running } from '../../src/serve.ts';
import { startWithFrames, TestClient, waitFor } from '../helpers.ts';
import { quoteFrame, storyFrame } from './feed.ts';
import { SseClient } from './sse-client.ts';

describe('HTTP beside the WebSocket', () => {
  let running: Running | undefined;
  const streams: SseClient[] = [];
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await running?.close();
    running = undefined;
  });
  const start = async () => {
    const started = await startWithFrames();
    running = started.running;
    const base = `http://127.0.0.1:${running.server.port}`;
    const get = async (path: string) => {
      const res = await fetch(base + path);
      const type = res.headers.get('content-type') ?? '';
      return { status: res.status, type, body: type.includes('json') ? await res.json() : await res.text() };
    };
    return { ...started, base, get };
  };

  it('reports health, readiness once a frame came, snapshot and headlines', async () => {
    const { frames$, get } = await start();
    expect(await get('/readyz')).toMatchObject({ status: 503, body: { ready: false } });
    frames$.next(quoteFrame(0, 3));
    frames$.next(storyFrame('Rupee gains'));
    frames$.next(storyFrame('Oil falls'));
    await waitFor(() => running!.hub.seq === 5, 'the frames');
    expect(await get('/readyz')).toMatchObject({ status: 200, body: { ready: true } });
    const health = await get('/healthz');
    expect(health.body).toMatchObject({
      status: 'ok',
      epoch: running!.hub.epoch,
      seq: 5,
      clients: 0,
      source: 'running',
      waitingBytes: { total: 0, max: 0 },
    });
    expect(typeof (health.body as { uptimeSeconds: number }).uptimeSeconds).toBe('number');
    const snapshot = await get('/api/snapshot?symbols=T1,T2');
    expect((snapshot.body as { quotes: { symbol: string }[] }).quotes.map((q) => q.symbol)).toEqual([
      'T1',
      'T2',
    ]);
    const headlines = await get('/api/headlines?limit=1');
    expect((headlines.body as { headlines: { title: string }[] }).headlines.map((h) => h.title)).toEqual([
      expect.stringContaining('Oil falls'),
    ]);
    expect(await get('/api/headlines?limit=0')).toMatchObject({
      status: 400,
      body: { error: 'bad_request', message: 'limit must be a whole number from 1 to 1000' },
    });
  });

  it('reads /api/snapshot?symbols= as a subscription reads its list: names, prefix patterns, and what to fix', async () => {
    const { frames$, get, base } = await start();
    frames$.next(quoteFrame(0, 12));
    await waitFor(() => running!.hub.snapshot().length === 12, 'the quotes');
    const symbols = async (query: string) =>
      ((await get(`/api/snapshot?${query}`)).body as { quotes: { symbol: string }[] }).quotes.map(
        (q) => q.symbol,
      );
    expect(await symbols('symbols=T1*,T3')).toEqual(['T1', 'T10', 'T11', 'T3']);
    // An empty list, as a form's empty field sends it, asks for every symbol as no list does.
    expect(await symbols('symbols=')).toHaveLength(12);
    const stream = await SseClient.open(`${base}/api/stream?channels=quotes&symbols=`);
    streams.push(stream);
    const snapshot = await waitFor(() => stream.ofType('snapshot')[0], 'the snapshot on the stream');
    expect('quotes' in snapshot && snapshot.quotes).toHaveLength(12);
    expect(await get('/api/snapshot?symbols=T1,t2')).toEqual({
      status: 400,
      type: expect.stringContaining('json'),
      body: {
        error: 'bad_request',
        message:
          'symbols: "t2" is not a symbol like AIRLINK or a prefix pattern like OGDC*: symbols are capitals (T2)',
      },
    });
    const many = Array.from({ length: 101 }, (_, i) => `S${i}`).join(',');
    expect((await get(`/api/snapshot?symbols=${many}`)).body).toMatchObject({
      message: 'symbols: at most 100 names or patterns, got 101',
    });
  });

  it('exposes Prometheus metrics: connections, messages and bytes out, parsed events, rejected lines and suspect quotes', async () => {
    const { frames$, get } = await start();
    const client = await TestClient.connect(running!.server.url);
    client.send({ op: 'subscribe', channel: 'quotes' });
    await client.next('snapshot');
    frames$.next({
      text: 'AAA 10.00 Increased By ▲ oops (1%)\nBBB 10.00 Increased By ▲ 0.10 (1.01%)\nCCC 10.00 Increased By ▲ 0.10 (5%)',
      origin: 't',
    });
    await client.next('quote', (m) => m.symbol === 'CCC');
    const { status, body } = await get('/metrics');
    expect(status).toBe(200);
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body as string)?.[1]);
    expect(value('tickstream_connections')).toBe(1);
    expect(value('tickstream_rejected_lines_total')).toBe(1);
    expect(value('tickstream_frames_in_total')).toBe(1);
    expect(value('tickstream_parsed_events_total{type="quote"}')).toBe(2);
    expect(value('tickstream_suspect_quotes_total')).toBe(1);
    expect(value('tickstream_subscriptions{channel="quotes"}')).toBe(1);
    expect(value('tickstream_messages_out_total')).toBeGreaterThanOrEqual(5);
    expect(value('tickstream_bytes_out_total')).toBeGreaterThan(100);
    // One observation per flush (the oldest item's wait), not one per event.
    expect(value('tickstream_delivery_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value('tickstream_delivery_latency_seconds_count')).toBe(
      value('tickstream_flush_duration_seconds_count'),
    );
    await client.close();
  });

  it('streams the same messages as Server-Sent Events, and resumes from Last-Event-ID', async () => {
    const { frames$, base } = await start();
    frames$.next(quoteFrame(0, 3));
    await waitFor(() => running!.hub.seq === 3, 'the first frame');
    const first = await SseClient.open(`${base}/api/stream?channels=quotes&symbols=T0,T1`);
    streams.push(first);
    await waitFor(() => first.ofType('snapshot').length === 1, 'the snapshot');
    expect(first.events.map((e) => e.message.type)).toEqual(['hello', 'status', 'subscribed', 'snapshot']);
    frames$.next(quoteFrame(1, 3));
    await waitFor(() => first.ofType('quote').length === 2, 'two deltas');
    const epoch = running!.hub.epoch;
    expect(first.events.filter((e) => e.message.type === 'quote').map((e) => e.id)).toEqual([
      `${epoch}:4`,
      `${epoch}:5`,
    ]);
    first.close();
    await waitFor(() => running!.server.clientCount() === 0, 'the server to see the stream end');

    frames$.next(quoteFrame(2, 3));
    frames$.next(quoteFrame(3, 3));
    await waitFor(() => running!.hub.seq === 12, 'two frames while away');
    const again = await SseClient.open(`${base}/api/stream?channels=quotes&symbols=T0,T1`, {
      'last-event-id': `${epoch}:5`,
    });
    streams.push(again);
    await waitFor(() => again.ofType('quote').length === 2, 'the missed deltas, merged');
    expect(again.ofType('subscribed')[0]).toMatchObject({ recovered: true });
    expect(again.ofType('snapshot')).toEqual([]);
    expect(again.ofType('quote').map((q) => [q.symbol, q.v])).toEqual([
      ['T0', 4],
      ['T1', 4],
    ]);
  });

  it('subscribes once per channel however often the query names it, and refuses more channels than exist', async () => {
    const { frames$, base } = await start();
    frames$.next(quoteFrame(0, 3));
    await waitFor(() => running!.hub.seq === 3, 'the first frame');
    const repeated = await SseClient.open(
      `${base}/api/stream?channels=${Array(2000).fill('quotes').join(',')}`,
    );
    streams.push(repeated);
    await waitFor(() => repeated.ofType('snapshot').length === 1, 'the snapshot');
    expect(repeated.ofType('subscribed')).toHaveLength(1);
    const every = await SseClient.open(`${base}/api/stream?channels=quotes,headlines,candles&interval=5m`);
    streams.push(every);
    expect(every.status).toBe(200);
    const many = await SseClient.open(`${base}/api/stream?channels=quotes,headlines,candles,trades`);
    expect(many.status).toBe(400);
    expect(many.error).toEqual({
      error: 'refused',
      message: 'channels takes at most 3: quotes, headlines, candles',
    });
  });

  it('refuses a stream query it cannot serve with 400 and the reason', async () => {
    const { base } = await start();
    const bad = await SseClient.open(`${base}/api/stream?channels=trades`);
    expect(bad.status).toBe(400);
    expect(bad.error).toEqual({
      error: 'refused',
      message: 'unknown channel "trades": expected quotes, headlines or candles',
    });
    const since = await SseClient.open(`${base}/api/stream?since=yesterday`);
    expect([since.status, since.error]).toEqual([
      400,
      { error: 'refused', message: 'since must be EPOCH:SEQ, as an event\'s id gives it, got "yesterday"' },
    ]);
  });
});
