import { VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Running } from '../../src/serve.ts';
import type { Bar, CandleMessage, CandlesResponse, ServerMessage } from '../../src/protocol/messages.ts';
import type { Frame } from '../../src/source/frame.ts';
import { Hub } from '../../src/hub/hub.ts';
import { candlesAnswer, MAX_CANDLES } from '../../src/transport/candles-http.ts';
import { CandleThrottle } from '../../src/transport/candles-throttle.ts';
import { fixtureFrames, startWithFrames, TestClient, waitFor } from '../helpers.ts';

const [first, second] = fixtureFrames('two-frames.txt');
/** The first frame's values again two minutes later: every symbol moves, and the 04:31 bars close. */
const third: Frame = { ...first!, capturedAt: new Date('2023-11-09T04:33:00.000Z'), origin: 'third' };

const key = (b: Bar) => `${b.symbol} ${b.interval} ${b.start}`;
const barOf = ({ type: _t, seq: _s, ...bar }: CandleMessage): Bar => bar;

/** What a client holds after its candle snapshots and updates: the latest of each bar. */
const heldBars = (messages: ServerMessage[]): Bar[] => {
  const bars = new Map<string, Bar>();
  for (const m of messages) {
    if (m.type === 'snapshot' && m.channel === 'candles') for (const b of m.candles) bars.set(key(b), b);
    if (m.type === 'candle') bars.set(key(m), barOf(m));
  }
  return [...bars.values()].sort((a, b) => (key(a) < key(b) ? -1 : 1));
};

const get = async <T>(running: Running, path: string): Promise<{ status: number; body: T }> => {
  const res = await fetch(`http://127.0.0.1:${running.server.port}${path}`);
  return { status: res.status, body: (await res.json()) as T };
};

describe('the candles channel', () => {
  let running: Running | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await running?.close();
  });

  const start = async () => {
    const started = await startWithFrames({ hub: { barDays: 5 } });
    running = started.running;
    return started.frames$;
  };
  const connect = async () => {
    const c = await TestClient.connect(running!.server.url);
    clients.push(c);
    return c;
  };
  const hubBars = (interval: Bar['interval'], symbols: string[]) =>
    running!.hub.queryBars({ interval, symbol: (s) => symbols.includes(s) });

  it('answers subscribed and a snapshot of the day, then a candle with seq each time a bar changes or closes', async () => {
    const frames$ = await start();
    frames$.next(first!);
    await waitFor(() => running!.hub.queryBars({ interval: '1m' }).length === 34, 'the first bars');
    const client = await connect();
    client.send({ op: 'subscribe', id: 1, channel: 'candles', symbols: ['AIRLINK', 'KSE*'], interval: '1m' });
    expect(await client.next('subscribed')).toEqual({
      type: 'subscribed',
      id: 1,
      channel: 'candles',
      symbols: ['AIRLINK', 'KSE*'],
      interval: '1m',
      recovered: false,
    });
    const snapshot = await client.next('snapshot');
    expect(snapshot).toMatchObject({ channel: 'candles', interval: '1m', seq: running!.hub.seq });
    expect(snapshot.channel === 'candles' && snapshot.candles.map((b) => b.symbol)).toEqual([
      'AIRLINK',
      'KSE100',
      'KSE30',
    ]);
    expect(snapshot.channel === 'candles' && snapshot.candles[0]).toEqual({
      symbol: 'AIRLINK',
      interval: '1m',
      start: '2023-11-09T04:31:00.000Z',
      open: 80.6,
      high: 80.6,
      low: 80.6,
      close: 80.6,
      updates: 1,
      closed: false,
    });

    frames$.next(second!);
    frames$.next(third);
    await waitFor(
      () => client.ofType('candle').some((c) => c.start === '2023-11-09T04:33:00.000Z'),
      'the new bars',
    );
    const airlink = client.ofType('candle').filter((c) => c.symbol === 'AIRLINK');
    expect(airlink.map(({ seq: _s, ...c }) => c)).toEqual([
      {
        type: 'candle',
        symbol: 'AIRLINK',
        interval: '1m',
        start: '2023-11-09T04:31:00.000Z',
        open: 80.6,
        high: 81.1,
        low: 80.6,
        close: 81.1,
        updates: 2,
        closed: false,
      },
      {
        type: 'candle',
        symbol: 'AIRLINK',
        interval: '1m',
        start: '2023-11-09T04:31:00.000Z',
        open: 80.6,
        high: 81.1,
        low: 80.6,
        close: 81.1,
        updates: 2,
        closed: true,
      },
      {
        type: 'candle',
        symbol: 'AIRLINK',
        interval: '1m',
        start: '2023-11-09T04:33:00.000Z',
        open: 80.6,
        high: 80.6,
        low: 80.6,
        close: 80.6,
        updates: 1,
        closed: false,
      },
    ]);
    const seqs = client.ofType('candle').map((c) => c.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(client.ofType('candle').every((c) => c.interval === '1m')).toBe(true);
    expect(heldBars(client.messages)).toEqual(hubBars('1m', ['AIRLINK', 'KSE100', 'KSE30']));
  });

  it('refuses an unknown or missing interval with bad_request naming the allowed ones', async () => {
    await start();
    const client = await connect();
    client.send({ op: 'subscribe', id: 1, channel: 'candles', interval: '2m' });
    client.send({ op: 'subscribe', id: 2, channel: 'candles' });
    client.send({ op: 'subscribe', id: 3, channel: 'quotes', interval: '1m' });
    await waitFor(() => client.ofType('error').length === 3, 'three errors');
    expect(client.ofType('error')).toEqual([
      {
        type: 'error',
        id: 1,
        code: 'bad_request',
        message: 'interval: unknown interval "2m": expected 1m, 5m, 15m, 1h or 1d',
      },
      {
        type: 'error',
        id: 2,
        code: 'bad_request',
        message: 'interval: a candles subscription needs one of 1m, 5m, 15m, 1h or 1d',
      },
      {
        type: 'error',
        id: 3,
        code: 'bad_request',
        message: 'interval: only the candles channel takes an interval',
      },
    ]);
    client.send({ op: 'ping', id: 4 });
    expect(await client.next('pong')).toEqual({ type: 'pong', id: 4 });
  });

  it('resumes with since: the missed candles take the client to the server bars', async () => {
    const frames$ = await start();
    frames$.next(first!);
    await waitFor(() => running!.hub.queryBars({ interval: '5m' }).length === 34, 'the first bars');
    const before = await connect();
    before.send({ op: 'subscribe', channel: 'candles', interval: '5m' });
    const snapshot = await before.next('snapshot');
    const hello = before.ofType('hello')[0]!;
    await before.close();

    frames$.next(second!);
    frames$.next(third);
    await waitFor(
      () => running!.hub.queryBars({ interval: '1m' }).some((b) => b.start.startsWith('2023-11-09T04:33')),
      'the later bars',
    );
    const after = await connect();
    after.send({
      op: 'subscribe',
      id: 1,
      channel: 'candles',
      interval: '5m',
      since: { epoch: hello.epoch, seq: snapshot.seq },
    });
    expect(await after.next('subscribed')).toMatchObject({ recovered: true });
    await waitFor(() => after.ofType('candle').length > 0, 'the missed candles');
    expect(after.ofType('snapshot')).toEqual([]);
    const all = running!.hub.queryBars({ interval: '5m' }).map((b) => b.symbol);
    expect(heldBars([snapshot, ...after.messages])).toEqual(hubBars('5m', all));
  });

  it('shares one snapshot among subscribers at different seqs: a later one gets the candles since after it', async () => {
    const frames$ = await start();
    frames$.next(first!);
    await waitFor(() => running!.hub.queryBars({ interval: '1m' }).length === 34, 'the first bars');
    const early = await connect();
    early.send({ op: 'subscribe', id: 1, channel: 'candles', interval: '1m' });
    const shared = await early.next('snapshot');
    for (const f of [second!, third]) frames$.next(f);
    await waitFor(
      () => running!.hub.queryBars({ interval: '1m' }).some((b) => b.start.startsWith('2023-11-09T04:33')),
      'the later bars',
    );
    const late = await connect();
    late.send({ op: 'subscribe', id: 1, channel: 'candles', interval: '1m' });
    const snapshot = await late.next('snapshot');
    // The same snapshot, not one built for this seq…
    expect(snapshot).toEqual(shared);
    expect(snapshot.seq).toBeLessThan(running!.hub.seq);
    // …and after it the candles changed since: the client holds the server's bars.
    const all = running!.hub.queryBars({ interval: '1m' });
    await waitFor(
      () => JSON.stringify(heldBars(late.messages)) === JSON.stringify(all),
      'the server bars on the late client',
    );
    expect(late.ofType('candle').every((c) => c.seq >= snapshot.seq)).toBe(true);
  });

  it('conflates candles over maxRate and still ends with the server bars', async () => {
    const frames$ = await start();
    const client = await connect();
    client.send({ op: 'subscribe', channel: 'candles', interval: '1m', symbols: ['AIRLINK'], maxRate: 4 });
    await client.next('snapshot');
    for (const f of [first!, second!, third]) frames$.next(f);
    await waitFor(
      () => JSON.stringify(heldBars(client.messages)) === JSON.stringify(hubBars('1m', ['AIRLINK'])),
      'the client to hold the server bars',
    );
    // Four versions of AIRLINK's bars came within one quarter second: fewer candles went out.
    expect(client.ofType('candle').length).toBeLessThan(4);
    expect(client.ofType('candle').some((c) => c.closed)).toBe(true);
  });

  it('serves GET /api/candles ordered by symbol then start, and says what to fix in a bad query', async () => {
    const frames$ = await start();
    for (const f of [first!, second!, third]) frames$.next(f);
    await waitFor(
      () => running!.hub.queryBars({ interval: '1m' }).some((b) => b.start.startsWith('2023-11-09T04:33')),
      'the bars',
    );
    const ok = await get<CandlesResponse>(running!, '/api/candles?symbols=HBL,AIRLINK&interval=1m');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ epoch: running!.hub.epoch, seq: running!.hub.seq, interval: '1m' });
    expect(ok.body.candles.map((b) => [b.symbol, b.start.slice(11, 16), b.closed])).toEqual([
      ['AIRLINK', '04:31', true],
      ['AIRLINK', '04:33', false],
      ['HBL', '04:31', true],
      ['HBL', '04:33', false],
    ]);
    const window = await get<CandlesResponse>(
      running!,
      '/api/candles?symbols=AIRLINK&interval=1m&from=2023-11-09T04:32:00Z&to=2023-11-09T04:34:00Z',
    );
    expect(window.body.candles.map((b) => b.start)).toEqual(['2023-11-09T04:33:00.000Z']);
    const offset = await get<CandlesResponse>(
      running!,
      `/api/candles?symbols=AIRLINK&interval=1m&from=${encodeURIComponent('2023-11-09T09:32:00+05:00')}&to=2023-11-10`,
    );
    expect(offset.body.candles.map((b) => b.start)).toEqual(['2023-11-09T04:33:00.000Z']);
    for (const [query, message] of [
      ['interval=7m', 'unknown interval "7m": expected 1m, 5m, 15m, 1h or 1d'],
      ['symbols=A', 'interval is required: 1m, 5m, 15m, 1h or 1d'],
      [
        'interval=1m&from=yesterday',
        'from must be an ISO-8601 date, or a time with its zone (2023-11-09T04:30:00Z), got "yesterday"',
      ],
      // A day no calendar has, which Date.parse would roll over into March.
      [
        'interval=1m&from=2023-02-30',
        'from must be an ISO-8601 date, or a time with its zone (2023-11-09T04:30:00Z), got "2023-02-30"',
      ],
      // Without a zone the server's own would be taken: the same query, another hour elsewhere.
      [
        'interval=1m&to=2023-11-09T04:34:00',
        'to must be an ISO-8601 date, or a time with its zone (2023-11-09T04:30:00Z), got "2023-11-09T04:34:00"',
      ],
      [
        'interval=1m&symbols=a b',
        'symbols: "a b" is not a symbol like AIRLINK or a prefix pattern like OGDC*: " " is not allowed (capitals, digits, . and -)',
      ],
      [
        'interval=1m&from=2023-11-09T05:00:00Z&to=2023-11-09T04:00:00Z',
        'from must be before to, got from 2023-11-09T05:00:00.000Z and to 2023-11-09T04:00:00.000Z',
      ],
    ])
      expect(await get(running!, `/api/candles?${query}`)).toEqual({
        status: 400,
        body: { error: 'bad_request', message },
      });
  });

  it('streams candles over SSE with channels=candles&interval=', async () => {
    const frames$ = await start();
    frames$.next(first!);
    await waitFor(() => running!.hub.queryBars({ interval: '5m' }).length === 34, 'the first bars');
    const controller = new AbortController();
    const res = await fetch(
      `http://127.0.0.1:${running!.server.port}/api/stream?channels=candles&interval=5m&symbols=HBL`,
      {
        signal: controller.signal,
      },
    );
    const reader = res.body!.getReader();
    let text = '';
    await waitFor(async () => {
      text += new TextDecoder().decode((await reader.read()).value);
      return text.includes('"channel":"candles"');
    }, 'the candles snapshot');
    controller.abort();
    expect(text).toContain('"interval":"5m","seq":');
    expect(text).toContain('"symbol":"HBL","interval":"5m","start":"2023-11-09T04:30:00.000Z"');
    const bad = await fetch(
      `http://127.0.0.1:${running!.server.port}/api/stream?channels=candles&interval=3m`,
    );
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: 'refused',
      message: 'interval: unknown interval "3m": expected 1m, 5m, 15m, 1h or 1d',
    });
  });
});

describe('GET /api/candles, bounded', () => {
  it('refuses an answer of more than MAX_CANDLES candles and says how to narrow it; a narrower one is answered', () => {
    const hub = new Hub({ history: { size: 10, ageMs: 60_000 }, headlineCount: 5, barDays: 5 });
    const symbols = 140;
    // 360 minutes of every symbol: 50,400 1m bars in one trading day.
    for (let m = 0; m < 360; m++)
      for (let s = 0; s < symbols; s++)
        hub.apply({
          type: 'quote',
          symbol: `S${s}`,
          ts: new Date(Date.UTC(2023, 10, 9, 4, 30 + m)).toISOString(),
          fields: { kind: 'stock', price: 10 + m / 100, change: 1, changePercent: 1, direction: 'up' },
        });
    const ask = (query: string) => candlesAnswer(new URL(`http://host/api/candles?${query}`), hub);
    expect(ask('interval=1m')).toEqual({
      status: 400,
      message: `more than ${MAX_CANDLES} candles asked for: name fewer symbols, or a shorter from-to, in each request (or subscribe to the candles channel)`,
      // What was gone through before the answer was refused: charged to the address all the same.
      items: MAX_CANDLES + 1,
    });
    const one = ask('interval=1m&symbols=S7');
    expect(one.status === 200 && one.body.candles.length).toBe(360);
    const hour = ask('interval=1m&from=2023-11-09T05:00:00Z&to=2023-11-09T06:00:00Z');
    expect(hour.status === 200 && hour.body.candles.length).toBe(60 * symbols);
  });
});

describe('CandleThrottle', () => {
  const c = (start: string, close: number, closed = false): CandleMessage => ({
    type: 'candle',
    seq: close,
    symbol: 'AIRLINK',
    interval: '1m',
    start,
    open: 1,
    high: 9,
    low: 1,
    close,
    updates: close,
    closed,
  });

  it('replaces a held candle by a later one of the same bar, and never conflates a close away', () => {
    const scheduler = new VirtualTimeScheduler();
    const released: CandleMessage[][] = [];
    let merged = 0;
    const throttle = new CandleThrottle(
      scheduler,
      (held) => released.push(held),
      () => merged++,
    );
    const open = c('04:31', 1);
    expect(throttle.offer(open, 2)).toEqual([open]);
    expect(throttle.offer(c('04:31', 2), 2)).toEqual([]);
    expect(throttle.offer(c('04:31', 3, true), 2)).toEqual([]);
    expect(throttle.offer(c('04:32', 4), 2)).toEqual([]);
    expect(released).toEqual([]);
    scheduler.flush();
    expect(released).toEqual([[c('04:31', 3, true), c('04:32', 4)]]);
    expect(merged).toBe(1);
    expect(scheduler.now()).toBe(500);
    throttle.dispose();
    throttle.dispose();
  });
});
