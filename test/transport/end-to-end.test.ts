import { afterEach, describe, expect, it } from 'vitest';
import type { Running } from '../../src/serve.ts';
import { fixtureFrames, startWithFrames, TestClient, waitFor } from '../helpers.ts';

const [first, second] = fixtureFrames('two-frames.txt');
const start = () => startWithFrames();

describe('a feed through the server to a WebSocket client', () => {
  let running: Running | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await running?.close();
  });

  it('sends hello, a 34-quote snapshot, then exactly the deltas of the next frame', async () => {
    const started = await start();
    running = started.running;
    started.frames$.next(first!);
    await waitFor(() => running!.hub.seq === 35, 'the first frame (34 quotes and a story) in the hub');

    const client = await TestClient.connect(running.server.url);
    clients.push(client);
    client.send({ op: 'subscribe', id: 1, channel: 'quotes' });
    const snapshot = await client.next('snapshot');
    expect(client.messages[0]).toMatchObject({
      type: 'hello',
      version: 1,
      epoch: running.hub.epoch,
      seq: 35,
    });
    expect(client.ofType('subscribed')).toEqual([
      { type: 'subscribed', id: 1, channel: 'quotes', recovered: false },
    ]);
    expect(snapshot.channel === 'quotes' && snapshot.quotes).toHaveLength(34);
    expect(snapshot.channel === 'quotes' && snapshot.quotes.find((q) => q.symbol === 'AIRLINK')).toEqual({
      symbol: 'AIRLINK',
      kind: 'stock',
      price: 80.6,
      change: 1.19,
      changePercent: 1.5,
      direction: 'up',
      open: 80.6,
      high: 80.6,
      low: 80.6,
      prevClose: 79.41,
      v: 1,
      ts: '2023-11-09T04:31:00.000Z',
    });

    started.frames$.next(second!);
    await waitFor(() => client.ofType('quote').length >= 3, 'three quote deltas');
    const ts = '2023-11-09T04:31:30.000Z';
    expect(client.ofType('quote')).toEqual([
      {
        type: 'quote',
        seq: 36,
        symbol: 'AIRLINK',
        v: 2,
        price: 81.1,
        change: 1.69,
        changePercent: 2.13,
        high: 81.1,
        ts,
      },
      {
        type: 'quote',
        seq: 37,
        symbol: 'HBL',
        v: 2,
        price: 117.93,
        change: 0,
        changePercent: 0,
        direction: 'unchanged',
        high: 117.93,
        ts,
      },
      {
        type: 'quote',
        seq: 38,
        symbol: 'KSE100',
        v: 2,
        price: 72801,
        change: 829.4,
        changePercent: 1.15,
        high: 72801,
        ts,
      },
    ]);
    // The same story in the second frame is not news again.
    expect(running.hub.seq).toBe(38);
  });

  it('answers a malformed request with an error and keeps the connection', async () => {
    const started = await start();
    running = started.running;
    const client = await TestClient.connect(running.server.url);
    clients.push(client);
    client.send('{not json');
    client.send({ op: 'subscribe', id: 3, channel: 'quotes', symbols: 'AIRLINK' });
    client.send({ op: 'ping', id: 7 });
    await client.next('pong');
    expect(client.ofType('error')).toEqual([
      { type: 'error', code: 'bad_request', message: 'frame is not valid JSON' },
      { type: 'error', id: 3, code: 'bad_request', message: 'symbols: symbols must be an array of strings' },
    ]);
    expect(client.ofType('pong')).toEqual([{ type: 'pong', id: 7 }]);
  });

  it('closes clients with 1001 on shutdown, and closing twice is safe', async () => {
    const started = await start();
    running = started.running;
    const client = await TestClient.connect(running.server.url);
    await Promise.all([running.close(), running.close()]);
    await waitFor(() => client.closeCode, 'the close frame');
    expect(client.closeCode).toBe(1001);
  });
});
