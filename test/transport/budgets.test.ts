import { afterEach, describe, expect, it } from 'vitest';
import type { Running } from '../../src/serve.ts';
import { fixtureFrames, startWithFrames, TestClient, waitFor } from '../helpers.ts';

const [first] = fixtureFrames('two-frames.txt');

describe('work budgets per request', () => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('refuses a request naming more symbols than a connection may hold, and more than twice that per second', async () => {
    ({ running } = await startWithFrames({ transport: { limits: { maxSymbols: 10 } } }));
    const client = await TestClient.connect(running.server.url);
    const symbols = Array.from({ length: 8 }, (_, i) => `S${i}`);
    for (const id of [1, 2, 3]) client.send({ op: 'subscribe', channel: 'quotes', id, symbols });
    client.send({ op: 'subscribe', channel: 'quotes', id: 4, symbols: [...symbols, 'A', 'B', 'C'] });
    client.send({ op: 'ping', id: 5 });
    await client.next('pong');
    expect(client.ofType('subscribed').map((m) => m.id)).toEqual([1, 2]);
    expect(client.ofType('error')).toEqual([
      expect.objectContaining({
        id: 3,
        code: 'rate_limited',
        message: expect.stringContaining('more than 20 symbols'),
      }),
      expect.objectContaining({ id: 4, code: 'too_many_symbols' }),
    ]);
    await client.close();
  });

  it('charges each address the items its answers hold, over HTTP, SSE and WebSocket, and serves the others', async () => {
    // One item a second, a burst of two: a 34-quote snapshot and its request put the address
    // 42 items in debt, 43 s from its next answer however slow the machine.
    const started = await startWithFrames({
      transport: { trustProxy: ['127.0.0.1'], limits: { maxItemsPerIp: 1 } },
    });
    running = started.running;
    started.frames$.next(first!);
    await waitFor(() => running!.hub.quoteCount === 34, 'the first frame');
    const base = running.server.url.replace('ws://', 'http://').replace('/ws', '');
    const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

    expect((await fetch(`${base}/api/snapshot`, from('198.51.100.1'))).status).toBe(200);
    const refused = await fetch(`${base}/api/candles?interval=5m`, from('198.51.100.1'));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('connection')).toBe('close');
    const body = (await refused.json()) as { retryAfterMs: number };
    expect(body).toMatchObject({
      error: 'rate_limited',
      message: expect.stringContaining('more than 1 items a second'),
    });
    // Charged the answer's 34 quotes, not the request alone (which would be 6 s).
    expect(body.retryAfterMs).toBeGreaterThan(30_000);
    expect(body.retryAfterMs).toBeLessThanOrEqual(43_000);
    expect(Number(refused.headers.get('retry-after'))).toBe(Math.ceil(body.retryAfterMs / 1000));
    // Probes are never refused: a proxy's address may be the clients' too.
    expect((await fetch(`${base}/healthz`, from('198.51.100.1'))).status).toBe(200);
    expect((await fetch(`${base}/api/stream`, from('198.51.100.1'))).status).toBe(429);

    const over = await TestClient.connect(running.server.url, from('198.51.100.1'));
    over.send({ op: 'subscribe', channel: 'quotes', id: 7 });
    expect(await over.next('error')).toMatchObject({
      id: 7,
      code: 'rate_limited',
      retryAfterMs: expect.any(Number),
    });
    expect(over.ofType('error')[0]!.retryAfterMs).toBeGreaterThan(30_000);
    const other = await TestClient.connect(running.server.url, from('198.51.100.2'));
    other.send({ op: 'subscribe', channel: 'quotes', id: 1 });
    expect((await other.next('snapshot')).seq).toBe(running.hub.seq);
    expect(over.ofType('snapshot')).toEqual([]);
    const errors = await running.server.metrics.requestErrors.get();
    expect(errors.values.find((v) => v.labels.code === 'rate_limited')?.value).toBe(3);
    await over.close();
    await other.close();
  });

  it('stops reading an address that sends more bytes than its budget, and reads the others', async () => {
    // 1 KiB a second, a burst of 2: one frame of 60 KB puts the address about a minute in debt.
    ({ running } = await startWithFrames({
      transport: { trustProxy: ['127.0.0.1'], limits: { maxRequestBytesPerIp: 1024 } },
    }));
    const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });
    const flooder = await TestClient.connect(running.server.url, from('198.51.100.1'));
    const other = await TestClient.connect(running.server.url, from('198.51.100.2'));
    // The frame that goes past the budget is still answered (refused: a ping has no such field),
    // since it was read already.
    flooder.send({ op: 'ping', id: 1, pad: 'x'.repeat(60_000) });
    expect(await flooder.next('error')).toMatchObject({ id: 1, code: 'bad_request' });
    flooder.send({ op: 'ping', id: 2 });
    other.send({ op: 'ping', id: 3 });
    expect(await other.next('pong')).toMatchObject({ id: 3 });
    // The other address's answer went out; the flooder's next request waits unread.
    other.send({ op: 'ping', id: 4 });
    await waitFor(() => other.ofType('pong').length === 2, 'the second pong');
    expect(flooder.ofType('pong')).toEqual([]);
    expect((await running.server.metrics.readHolds.get()).values[0]?.value).toBe(1);
    // Held back, the flooder reads no close handshake either: cut it off.
    flooder.ws.terminate();
    await other.close();
  });
});
