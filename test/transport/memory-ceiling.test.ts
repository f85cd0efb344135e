import { afterEach, describe, expect, it } from 'vitest';
import type { Running } from '../../src/serve.ts';
import { MemoryCeiling, type Consumer } from '../../src/transport/memory-ceiling.ts';
import { startWithFrames, TestClient, waitFor } from '../helpers.ts';
import { quoteFrame } from './feed.ts';

/** A consumer holding `bytes`; conflating halves it. */
const consumer = (name: string, bytes: number) => {
  const events: string[] = [];
  const c: Consumer & { name: string; events: string[]; waitingBytes: number } = {
    name,
    events,
    waitingBytes: bytes,
    conflateNow: () => {
      events.push('conflated');
      c.waitingBytes = Math.floor(c.waitingBytes / 2);
    },
    closeSlow: () => {
      events.push('closed');
      c.waitingBytes = 0;
    },
  };
  return c;
};

describe('MemoryCeiling', () => {
  it('conflates the biggest consumers first, and closes one still over at the next check', () => {
    const reported: string[] = [];
    const ceiling = new MemoryCeiling<ReturnType<typeof consumer>>(100, (action, c) =>
      reported.push(`${c.name} ${action}`),
    );
    const [big, mid, small] = [consumer('big', 120), consumer('mid', 60), consumer('small', 10)];
    ceiling.check([small, mid, big]);
    // 190 held: big halved to 60 leaves 130; mid halved to 30 leaves 100.
    expect(reported).toEqual(['big conflated', 'mid conflated']);
    big.waitingBytes = 150;
    ceiling.check([small, mid, big]);
    expect(reported.slice(2)).toEqual(['big closed']);
    expect(small.events).toEqual([]);
  });

  it('forgets who it shed once the total is back under the ceiling', () => {
    const reported: string[] = [];
    const ceiling = new MemoryCeiling<ReturnType<typeof consumer>>(100, (action, c) =>
      reported.push(`${c.name} ${action}`),
    );
    const a = consumer('a', 150);
    ceiling.check([a]);
    a.waitingBytes = 10;
    ceiling.check([a]);
    a.waitingBytes = 150;
    ceiling.check([a]);
    expect(reported).toEqual(['a conflated', 'a conflated']);
  });
});

const pause = (client: TestClient) =>
  (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
const resume = (client: TestClient) =>
  (client.ws as unknown as { _socket: { resume(): void } })._socket.resume();
const nextTick = () => new Promise((r) => setImmediate(r));
const sheds = async (running: Running, action: string) =>
  (await running.server.metrics.waitingSheds.get()).values.find((v) => v.labels.action === action)?.value ??
  0;

describe('bytes waiting for all clients together', () => {
  let running: Running | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await running?.close();
    running = undefined;
  });

  it('conflate, then close with 4008, the clients holding the most, while a fast one is served', async () => {
    // Each client alone stays under its own limits; together they pass the server's.
    const limits = { slowBytes: 8 << 20, slowCloseBytes: 64 << 20, maxWaitingBytes: 512 * 1024 };
    const started = await startWithFrames({ transport: { limits } });
    running = started.running;
    const connect = async () => {
      const c = await TestClient.connect(started.running.server.url);
      clients.push(c);
      c.send({ op: 'subscribe', channel: 'quotes' });
      await c.next('snapshot');
      return c;
    };
    const fast = await connect();
    const stalled = [await connect(), await connect()];
    stalled.forEach(pause);
    for (let step = 0; step < 3000 && (await sheds(running, 'closed')) === 0; step++) {
      started.frames$.next(quoteFrame(step, 200));
      await nextTick();
      if (step % 20 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(await sheds(running, 'conflated')).toBeGreaterThan(0);
    expect(await sheds(running, 'closed')).toBeGreaterThan(0);
    stalled.forEach(resume);
    await waitFor(
      () => stalled.some((c) => c.closeCode === 4008),
      'a stalled client closed with 4008',
      10_000,
    );
    const last = running.hub.seq;
    await waitFor(
      () => fast.ofType('quote').some((q) => q.seq === last),
      'the fast client to get the last delta',
    );
    expect(fast.closeCode).toBe(undefined);
  });

  it('coalesces repeated snapshots to a client that is not reading', async () => {
    const started = await startWithFrames({
      transport: { limits: { slowBytes: 16_384, slowCloseBytes: 64 << 20 } },
    });
    running = started.running;
    const stalled = await TestClient.connect(running.server.url);
    clients.push(stalled);
    stalled.send({ op: 'subscribe', channel: 'quotes' });
    await stalled.next('snapshot');
    pause(stalled);
    // Fill its socket buffer past slowBytes (it is then conflated) so the server holds what comes next.
    const conflated = async () => (await running!.server.metrics.conflatedDeltas.get()).values.length > 0;
    for (let step = 0; step < 2000 && !(await conflated()); step++) {
      started.frames$.next(quoteFrame(step, 200));
      await nextTick();
    }
    expect(await conflated()).toBe(true);
    const seen = stalled.messages.length;
    const subscribes = async () =>
      (await running!.server.metrics.requests.get()).values.find((v) => v.labels.op === 'subscribe')?.value ??
      0;
    const before = await subscribes();
    for (let i = 0; i < 10; i++) stalled.send({ op: 'subscribe', channel: 'quotes', id: i });
    // The server has read them all once it counted them; only then may the client read again.
    await waitFor(async () => (await subscribes()) === before + 10, 'the ten subscribes read');
    resume(stalled);
    await stalled.next('subscribed', (m) => m.id === 9, seen);
    await waitFor(
      () => stalled.messages.slice(seen).filter((m) => m.type === 'snapshot').length >= 1,
      'a snapshot',
    );
    // Answered in order: after the pong, every answer has come; the ten snapshots were one.
    stalled.send({ op: 'ping', id: 'end' });
    await stalled.next('pong', (m) => m.id === 'end', seen);
    const after = stalled.messages.slice(seen);
    expect(after.filter((m) => m.type === 'subscribed')).toHaveLength(10);
    expect(after.filter((m) => m.type === 'snapshot')).toHaveLength(1);
  });
});
