import { afterEach, describe, expect, it } from 'vitest';
import type { QuoteMessage } from '../../src/protocol/messages.ts';
import type { Running } from '../../src/serve.ts';
import { startWithFrames, TestClient, waitFor } from '../helpers.ts';
import { quoteFrame, storyFrame } from './feed.ts';

describe('the WebSocket protocol', () => {
  let running: Running | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await running?.close();
    running = undefined;
  });

  const start = async (overrides: Parameters<typeof startWithFrames>[0] = {}) => {
    const started = await startWithFrames(overrides);
    running = started.running;
    return started;
  };
  const connect = async (path = '') => {
    const client = await TestClient.connect(running!.server.url + path);
    clients.push(client);
    await client.next('status');
    return client;
  };

  it('greets with hello then status, and answers ping with pong echoing the id', async () => {
    await start();
    const client = await connect();
    client.send({ op: 'ping', id: 'p1' });
    await client.next('pong');
    expect(client.messages.map((m) => m.type)).toEqual(['hello', 'status', 'pong']);
    expect(client.messages[1]).toMatchObject({ type: 'status', source: 'test', state: 'running' });
    expect(client.ofType('pong')).toEqual([{ type: 'pong', id: 'p1' }]);
  });

  it('delivers only subscribed symbols: by name, by prefix pattern, merged across subscriptions', async () => {
    const { frames$ } = await start();
    frames$.next(quoteFrame(0, 30));
    await waitFor(() => running!.hub.seq === 30, 'the first frame');
    const client = await connect();
    client.send({ op: 'subscribe', id: 1, channel: 'quotes', symbols: ['T2'] });
    client.send({ op: 'subscribe', id: 2, channel: 'quotes', symbols: ['T1*'] });
    await waitFor(() => client.ofType('snapshot').length === 2, 'two snapshots');
    const [byName, byPattern] = client.ofType('snapshot');
    expect(byName?.channel === 'quotes' && byName.quotes.map((q) => q.symbol)).toEqual(['T2']);
    expect(byPattern?.channel === 'quotes' && byPattern.quotes.map((q) => q.symbol)).toEqual([
      'T1',
      'T10',
      'T11',
      'T12',
      'T13',
      'T14',
      'T15',
      'T16',
      'T17',
      'T18',
      'T19',
    ]);
    expect(client.ofType('subscribed')).toEqual([
      { type: 'subscribed', id: 1, channel: 'quotes', symbols: ['T2'], recovered: false },
      { type: 'subscribed', id: 2, channel: 'quotes', symbols: ['T1*'], recovered: false },
    ]);

    frames$.next(quoteFrame(1, 30));
    await waitFor(() => client.ofType('quote').length >= 12, 'the deltas of the second frame');
    const symbols = client.ofType('quote').map((q) => q.symbol);
    expect(symbols.sort()).toEqual([
      'T1',
      'T10',
      'T11',
      'T12',
      'T13',
      'T14',
      'T15',
      'T16',
      'T17',
      'T18',
      'T19',
      'T2',
    ]);

    // Unsubscribing a name keeps the rest; a pattern subscription also covers later symbols.
    client.send({ op: 'unsubscribe', channel: 'quotes', symbols: ['T2'] });
    client.send({ op: 'ping', id: 'sync' });
    await client.next('pong');
    const before = client.ofType('quote').length;
    frames$.next(quoteFrame(2, 30));
    await waitFor(() => running!.hub.seq === 90, 'the third frame');
    client.send({ op: 'ping', id: 'sync2' });
    await client.next('pong', (p) => p.id === 'sync2');
    expect(
      client
        .ofType('quote')
        .slice(before)
        .map((q) => q.symbol),
    ).not.toContain('T2');
    expect(client.ofType('quote').slice(before)).toHaveLength(11);
  });

  it('sends one frame per tick: the deltas of one feed frame arrive as one JSON array', async () => {
    const { frames$ } = await start();
    const client = await connect();
    client.send({ op: 'subscribe', channel: 'quotes' });
    await client.next('snapshot');
    const framesBefore = client.frames.length;
    frames$.next(quoteFrame(0, 25));
    await waitFor(() => client.ofType('quote').length === 25, '25 quotes');
    expect(client.frames.length - framesBefore).toBe(1);
    expect(JSON.parse(client.frames.at(-1)!)).toHaveLength(25);
  });

  it('leaves every client of a crowd with exactly the server state for what it subscribed to', async () => {
    const { frames$ } = await start();
    frames$.next(quoteFrame(0, 40));
    const subscriptions = [undefined, ['T1*'], ['T3', 'T7', 'T39'], ['T2*', 'T20'], ['*']];
    const crowd = await Promise.all(
      Array.from({ length: 25 }, async (_, i) => {
        const client = await connect();
        const symbols = subscriptions[i % subscriptions.length];
        client.send({ op: 'subscribe', channel: 'quotes', ...(symbols && { symbols }) });
        await client.next('snapshot');
        return { client, symbols };
      }),
    );
    for (let step = 1; step <= 15; step++) frames$.next(quoteFrame(step, 40));
    await waitFor(() => running!.hub.seq === 640, 'every frame in the hub');
    const wanted = (symbols: string[] | undefined) => (s: string) =>
      !symbols ||
      symbols.some((p) => p === '*' || p === s || (p.endsWith('*') && s.startsWith(p.slice(0, -1))));
    for (const { client, symbols } of crowd) {
      const expected = running!.hub.snapshot(wanted(symbols));
      await waitFor(
        () => client.ofType('quote').filter((q) => q.v === 16).length === expected.length,
        'the last version of every subscribed symbol',
      );
      const state = new Map<string, object>();
      for (const m of client.messages) {
        if (m.type === 'snapshot' && m.channel === 'quotes') for (const q of m.quotes) state.set(q.symbol, q);
        if (m.type === 'quote') {
          const { type: _t, seq: _s, ...fields } = m;
          state.set(m.symbol, { ...state.get(m.symbol), ...fields });
        }
      }
      expect(state).toEqual(new Map(expected.map((q) => [q.symbol, q])));
    }
  });

  it('sends headlines to headline subscribers, with the latest ones on subscribe', async () => {
    const { frames$ } = await start();
    frames$.next(storyFrame('Rupee gains against dollar'));
    await waitFor(() => running!.hub.seq === 1, 'the first story');
    const client = await connect();
    client.send({ op: 'subscribe', id: 'h', channel: 'headlines' });
    const snapshot = await client.next('snapshot');
    expect(snapshot.channel === 'headlines' && snapshot.headlines.map((h) => h.dateline)).toEqual([
      'KARACHI',
    ]);
    frames$.next(storyFrame('Oil prices fall'));
    const headline = await client.next('headline');
    expect(headline).toMatchObject({ type: 'headline', seq: 2, dateline: 'KARACHI' });
    expect(headline.title).toContain('Oil prices fall');
    expect(client.ofType('quote')).toEqual([]);
  });

  it('resumes with since: missed deltas merged per symbol and recovered true; a foreign epoch gets a snapshot', async () => {
    const { frames$ } = await start();
    frames$.next(quoteFrame(0, 3));
    await waitFor(() => running!.hub.seq === 3, 'the first frame');
    const since = { epoch: running!.hub.epoch, seq: 3 };
    frames$.next(quoteFrame(1, 3));
    frames$.next(quoteFrame(2, 3));
    await waitFor(() => running!.hub.seq === 9, 'two more frames');

    const client = await connect();
    client.send({ op: 'subscribe', id: 9, channel: 'quotes', since });
    await waitFor(() => client.ofType('quote').length === 3, 'three merged deltas');
    expect(client.ofType('subscribed')).toEqual([
      { type: 'subscribed', id: 9, channel: 'quotes', recovered: true },
    ]);
    expect(client.ofType('snapshot')).toEqual([]);
    expect(client.ofType('quote').map((q) => [q.symbol, q.v, q.seq])).toEqual([
      ['T0', 3, 7],
      ['T1', 3, 8],
      ['T2', 3, 9],
    ]);

    const stranger = await connect();
    stranger.send({ op: 'subscribe', channel: 'quotes', since: { epoch: 'other', seq: 1 } });
    const snapshot = await stranger.next('snapshot');
    expect(stranger.ofType('subscribed')[0]?.recovered).toBe(false);
    expect(snapshot.channel === 'quotes' && snapshot.quotes).toHaveLength(3);
    // An operator sees both outcomes; a subscribe that did not ask to resume is neither.
    const plain = await connect();
    plain.send({ op: 'subscribe', channel: 'quotes' });
    await plain.next('snapshot');
    const metrics = await (await fetch(`http://127.0.0.1:${running!.server.port}/metrics`)).text();
    expect(metrics.match(/^tickstream_resumes_total\{.*$/gm)).toEqual([
      'tickstream_resumes_total{channel="quotes",recovered="true"} 1',
      'tickstream_resumes_total{channel="quotes",recovered="false"} 1',
    ]);
    // Every one of the nine events is still held: a client that missed them all would recover.
    expect(metrics).toMatch(/^tickstream_resume_reach_events 9$/m);
  });

  it('sends a status change to every connection, subscribed or not; unsubscribing headlines stops them', async () => {
    const { frames$ } = await start();
    const idle = await connect();
    const reader = await connect();
    reader.send({ op: 'subscribe', channel: 'headlines' });
    await reader.next('snapshot');
    running!.hub.setStatus({ ...running!.hub.status, state: 'stale' });
    for (const c of [idle, reader]) expect(await c.next('status', (s) => s.state === 'stale')).toBeTruthy();
    reader.send({ op: 'unsubscribe', channel: 'headlines' });
    reader.send({ op: 'ping', id: 'after' });
    await reader.next('pong');
    frames$.next(storyFrame('Nobody hears this'));
    await waitFor(() => running!.hub.seq === 1, 'the story');
    reader.send({ op: 'ping', id: 'sync' });
    await reader.next('pong', (p) => p.id === 'sync');
    expect(reader.ofType('headline')).toEqual([]);
  });

  it('sends heartbeats carrying the latest seq', async () => {
    const { frames$ } = await start({ transport: { heartbeatMs: 40 } });
    frames$.next(quoteFrame(0, 2));
    await waitFor(() => running!.hub.seq === 2, 'the frame');
    const client = await connect();
    const beat = await client.next('heartbeat');
    expect(beat.seq).toBe(2);
    expect(Number.isNaN(Date.parse(beat.ts))).toBe(false);
  });

  it('merges deltas in between under maxRate: fewer updates, the same final state', async () => {
    const { frames$ } = await start();
    const limited = await connect();
    const full = await connect();
    limited.send({ op: 'subscribe', channel: 'quotes', symbols: ['T0', 'T1'], maxRate: 2 });
    full.send({ op: 'subscribe', channel: 'quotes', symbols: ['T0', 'T1'] });
    await limited.next('snapshot');
    await full.next('snapshot');
    for (let step = 0; step < 10; step++) frames$.next(quoteFrame(step, 2));
    await waitFor(() => full.ofType('quote').length === 20, 'every delta on the unlimited client');
    // 2/s lets the first delta of each symbol through at once and holds the rest for 500 ms.
    await waitFor(() => limited.ofType('quote').filter((q) => q.v === 10).length === 2, 'the held deltas');
    const state = (quotes: QuoteMessage[]) => {
      const out = new Map<string, QuoteMessage>();
      for (const q of quotes) out.set(q.symbol, { ...out.get(q.symbol), ...q });
      return out;
    };
    expect(limited.ofType('quote')).toHaveLength(4);
    expect(state(limited.ofType('quote'))).toEqual(state(full.ofType('quote')));
  });

  it.each([
    [{ op: 'dance' }, 'unknown_op', 'unknown op "dance": expected subscribe, unsubscribe or ping'],
    [
      { op: 'subscribe', channel: 'trades' },
      'unknown_channel',
      'unknown channel "trades": expected quotes, headlines or candles',
    ],
    [
      { op: 'subscribe', channel: 'quotes', symbols: ['bad name'] },
      'bad_request',
      'symbols.0: "bad name" is not a symbol like AIRLINK or a prefix pattern like OGDC*: " " is not allowed (capitals, digits, . and -)',
    ],
    [
      { op: 'subscribe', channel: 'quotes', maxRate: 'fast' },
      'bad_request',
      'maxRate: maxRate must be a number of updates per second',
    ],
  ])('answers %j with %s and keeps the connection', async (request, code, message) => {
    await start();
    const client = await connect();
    client.send({ ...request, id: 5 });
    client.send({ op: 'ping' });
    await client.next('pong');
    expect(client.ofType('error')).toEqual([{ type: 'error', id: 5, code, message }]);
  });

  it('answers a binary frame with bad_request and keeps the connection', async () => {
    await start();
    const client = await connect();
    client.ws.send(Buffer.from('{"op":"ping"}'));
    client.send({ op: 'ping', id: 'text' });
    await client.next('pong');
    expect(client.ofType('error')).toEqual([
      { type: 'error', code: 'bad_request', message: 'binary frames are not accepted; send JSON text' },
    ]);
    expect(client.ofType('pong')).toEqual([{ type: 'pong', id: 'text' }]);
  });

  it('refuses more symbols than the limit with too_many_symbols', async () => {
    await start({ transport: { limits: { maxSymbols: 3 } } });
    const client = await connect();
    client.send({ op: 'subscribe', id: 1, channel: 'quotes', symbols: ['A', 'B'] });
    client.send({ op: 'subscribe', id: 2, channel: 'quotes', symbols: ['C', 'D'] });
    await client.next('error');
    expect(client.ofType('error')[0]).toMatchObject({ id: 2, code: 'too_many_symbols' });
    expect(client.ofType('error')[0]?.message).toContain('at most 3');
    expect(client.ofType('subscribed').map((s) => s.id)).toEqual([1]);
  });

  it('answers payload_too_large, closes 1009 past four times the limit', async () => {
    await start({ transport: { maxPayload: 1024 } });
    const client = await connect();
    client.send({ op: 'ping', id: 'x'.repeat(2000) });
    await client.next('error');
    expect(client.ofType('error')[0]).toMatchObject({ code: 'payload_too_large' });
    client.send({ op: 'ping', id: 'x'.repeat(5000) });
    expect(await waitFor(() => client.closeCode, 'the close')).toBe(1009);
  });

  it('answers a request flood with rate_limited once, then closes the abuser with 1008', async () => {
    await start({ transport: { limits: { maxRequestsPerSecond: 5 } } });
    const client = await connect();
    const bystander = await connect();
    for (let i = 0; i < 6; i++) client.send({ op: 'ping', id: i });
    await client.next('error');
    expect(client.ofType('pong')).toHaveLength(5);
    expect(client.ofType('error')).toEqual([
      {
        type: 'error',
        code: 'rate_limited',
        message: 'more than 5 requests in one second: this and further requests this second are refused',
        retryAfterMs: expect.any(Number),
      },
    ]);
    expect(client.ofType('error')[0]!.retryAfterMs).toBeLessThanOrEqual(1000);
    for (let i = 0; i < 40; i++) client.send('not json');
    expect(await waitFor(() => client.closeCode, 'the close')).toBe(1008);
    bystander.send({ op: 'ping', id: 'ok' });
    await bystander.next('pong');
  });

  it('answers a same-tick flood within the rate, says rate_limited, then closes 1008', async () => {
    await start({ transport: { limits: { maxRequestsPerSecond: 20 } } });
    const client = await connect();
    for (let i = 0; i < 2000 && client.ws.readyState === client.ws.OPEN; i++)
      client.send({ op: 'ping', id: i });
    expect(await waitFor(() => client.closeCode, 'the close', 10_000)).toBe(1008);
    expect(client.ofType('pong')).toHaveLength(20);
    expect(client.ofType('error').map((e) => e.code)).toEqual(['rate_limited']);
  });

  it('closes a peer that stops answering pings', async () => {
    await start({ transport: { heartbeatMs: 30 } });
    const client = await connect();
    // A socket that is paused reads no pings, so it sends no pongs.
    (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await waitFor(() => running!.server.clientCount() === 0, 'the server to drop the silent peer');
    client.ws.terminate();
  });
});
