import { afterEach, describe, expect, it } from 'vitest';
import type { Quote, QuoteMessage, ServerMessage } from '../../src/protocol/messages.ts';
import type { Running } from '../../src/serve.ts';
import { startWithFrames, TestClient, waitFor } from '../helpers.ts';
import { quoteFrame } from './feed.ts';

const SYMBOLS = 200;
const MAX_FRAMES = 600;

/** The state a client holds after applying snapshots and deltas in order. */
const clientState = (messages: ServerMessage[]) => {
  const state = new Map<string, Partial<Quote>>();
  for (const m of messages) {
    if (m.type === 'snapshot' && m.channel === 'quotes') for (const q of m.quotes) state.set(q.symbol, q);
    if (m.type === 'quote') {
      const { type: _t, seq: _s, ...fields } = m as QuoteMessage;
      state.set(m.symbol, { ...state.get(m.symbol), ...fields });
    }
  }
  return state;
};
const serverState = (running: Running) => new Map(running.hub.snapshot().map((q) => [q.symbol, q]));

const pause = (client: TestClient) =>
  (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
const resume = (client: TestClient) =>
  (client.ws as unknown as { _socket: { resume(): void } })._socket.resume();
const nextTick = () => new Promise((r) => setImmediate(r));

describe('a client that stops reading', () => {
  let running: Running | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await running?.close();
    running = undefined;
  });

  /** A fast client and a paused one, whose subscribe request adds `stalledRequest`. */
  const setup = async (limits: Record<string, number>, stalledRequest: object = {}) => {
    const started = await startWithFrames({ transport: { limits } });
    running = started.running;
    const connect = async (extra: object = {}) => {
      const c = await TestClient.connect(started.running.server.url);
      clients.push(c);
      c.send({ op: 'subscribe', channel: 'quotes', ...extra });
      await c.next('snapshot');
      return c;
    };
    const fast = await connect();
    const stalled = await connect(stalledRequest);
    pause(stalled);
    return { ...started, fast, stalled };
  };

  it('is conflated with memory bounded, told how much on catching up, while a fast client gets everything', async () => {
    const limits = { slowBytes: 64 * 1024, slowCloseBytes: 4 << 20, slowCloseMs: 60_000 };
    const { frames$, fast, stalled } = await setup(limits);
    const heapBefore = process.memoryUsage().heapUsed;
    let maxWaiting = 0;
    let frames = 0;
    let conflatingAt: number | undefined;
    // Feed until the stalled client has been conflated for a good while; bounded in count.
    while (frames < MAX_FRAMES && (conflatingAt === undefined || frames < conflatingAt + 100)) {
      frames$.next(quoteFrame(frames++, SYMBOLS));
      await nextTick();
      maxWaiting = Math.max(maxWaiting, running!.server.waitingBytes().max);
      if (conflatingAt === undefined && frames % 10 === 0 && (await conflatedDeltas(running!)) > 0)
        conflatingAt = frames;
    }
    expect(conflatingAt).toBeDefined();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    console.info(
      `slow consumer: ${frames} frames x ${SYMBOLS} symbols; conflation began at frame ${conflatingAt}; ` +
        `most bytes held for the stalled client ${(maxWaiting / 1024).toFixed(0)} KiB ` +
        `(close bound ${limits.slowCloseBytes >> 10} KiB); test-process heap growth ${(heapGrowth / 1048576).toFixed(1)} MiB`,
    );
    expect(maxWaiting).toBeLessThan(limits.slowCloseBytes);

    await waitFor(
      () => fast.ofType('quote').length === frames * SYMBOLS,
      'every delta on the fast client',
      20_000,
    );
    expect(clientState(fast.messages)).toEqual(serverState(running!));
    expect(fast.ofType('notice')).toEqual([]);

    resume(stalled);
    const notice = await stalled.next('notice');
    expect(notice).toMatchObject({ type: 'notice', code: 'slow_consumer', policy: 'conflate' });
    expect(notice.conflated).toBeGreaterThan(0);
    await waitFor(
      () => stalled.ofType('quote').filter((q) => q.v === frames).length === SYMBOLS,
      'the stalled client to catch up',
      20_000,
    );
    expect(stalled.ofType('quote').length).toBeLessThan(frames * SYMBOLS);
    expect(clientState(stalled.messages)).toEqual(serverState(running!));
    expect(stalled.closeCode).toBeUndefined();
  });

  it('does not send, on catching up, the held deltas of a symbol unsubscribed meanwhile', async () => {
    // Subscribed by name: unsubscribing a name from an all-symbols subscription changes nothing.
    const names = Array.from({ length: SYMBOLS }, (_, i) => `T${i}`);
    const limits = { slowBytes: 64 * 1024, slowCloseBytes: 4 << 20, slowCloseMs: 60_000 };
    const { frames$, stalled } = await setup(limits, { symbols: names });
    let frames = 0;
    while (frames < MAX_FRAMES && (frames % 10 !== 0 || (await conflatedDeltas(running!)) === 0)) {
      frames$.next(quoteFrame(frames++, SYMBOLS));
      await nextTick();
    }
    expect(frames).toBeLessThan(MAX_FRAMES);
    // A paused client still writes: the unsubscribe reaches the server while deltas are held.
    stalled.send({ op: 'unsubscribe', channel: 'quotes', symbols: ['T1'] });
    // A request the server answers with an error counts in /metrics once handled, so the test
    // knows the unsubscribe (sent before it) has been handled too.
    stalled.send({ op: 'marker' });
    await waitFor(
      async () => (await metric(running!, 'tickstream_request_errors_total')) > 0,
      'the requests handled',
    );
    frames$.next(quoteFrame(frames++, SYMBOLS));
    resume(stalled);
    const notice = await stalled.next('notice');
    await waitFor(
      () => stalled.ofType('quote').some((q) => q.symbol === 'T0' && q.v === frames),
      'the stalled client to catch up',
      20_000,
    );
    const after = stalled.messages.slice(stalled.messages.indexOf(notice));
    expect(after.filter((m) => m.type === 'quote' && m.symbol === 'T1')).toEqual([]);
  });

  it('closes with 4008 a client that stays slow past the time bound', async () => {
    const { frames$, stalled } = await setup({ slowBytes: 64 * 1024, slowCloseMs: 100 });
    await feedUntilClosed(frames$, running!);
    resume(stalled);
    expect(await waitFor(() => stalled.closeCode, 'the close frame', 10_000)).toBe(4008);
  });

  it('closes with 4008 at once a subscription that asked for "slow":"disconnect"', async () => {
    const { frames$, stalled, fast } = await setup({ slowBytes: 64 * 1024 }, { slow: 'disconnect' });
    await feedUntilClosed(frames$, running!);
    resume(stalled);
    expect(await waitFor(() => stalled.closeCode, 'the close frame', 10_000)).toBe(4008);
    expect(stalled.ofType('notice')).toEqual([]);
    expect(fast.closeCode).toBeUndefined();
  });
});

const metric = async (running: Running, name: string): Promise<number> => {
  const res = await fetch(`http://127.0.0.1:${running.server.port}/metrics`);
  const text = await res.text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
};
const conflatedDeltas = (running: Running) => metric(running, 'tickstream_conflated_deltas_total');
const slowCloses = (running: Running) => metric(running, 'tickstream_slow_consumer_closes_total');

/** Pushes frames until the server has closed a slow consumer, bounded in count. */
const feedUntilClosed = async (
  frames$: { next(f: ReturnType<typeof quoteFrame>): void },
  running: Running,
) => {
  for (let step = 0; step < MAX_FRAMES; step++) {
    frames$.next(quoteFrame(step, SYMBOLS));
    await nextTick();
    if (step % 10 === 9 && (await slowCloses(running)) > 0) return;
  }
  throw new Error(`no slow-consumer close after ${MAX_FRAMES} frames`);
};
