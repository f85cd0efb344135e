import { afterEach, describe, expect, it } from 'vitest';
import type { Running } from '../../src/serve.ts';
import { fixtureFrames, startWithFrames, TestClient, waitFor } from '../helpers.ts';

const [first] = fixtureFrames('two-frames.txt');
const at = (iso: string) => ({ ...first!, capturedAt: new Date(iso) });

describe('market status through a real server', () => {
  let running: Running | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await running?.close();
  });

  it('sends a status whenever the feed time moves the market to another state', async () => {
    const started = await startWithFrames();
    running = started.running;
    const client = await TestClient.connect(running.server.url);
    clients.push(client);
    await client.next('hello');

    // A Thursday in Karachi (UTC+5): 09:29 pre-open, 09:31 and 10:00 open, 15:31 closed.
    for (const [iso, market] of [
      ['2023-11-09T04:29:00.000Z', 'pre-open'],
      ['2023-11-09T04:31:00.000Z', 'open'],
      ['2023-11-09T05:00:00.000Z', 'open'],
      ['2023-11-09T10:31:00.000Z', 'closed'],
    ] as const) {
      started.frames$.next(at(iso));
      await waitFor(() => client.ofType('status').at(-1)?.market === market, `market ${market} at ${iso}`);
    }
    const markets = client.ofType('status').map((s) => s.market);
    // Only changes go out: the second open frame adds no status.
    expect(markets.slice(markets.indexOf('pre-open'))).toEqual(['pre-open', 'open', 'closed']);
    expect(client.ofType('status').at(-1)).toMatchObject({ source: 'test', state: 'running' });
  });

  it('keeps the market closed on a configured holiday', async () => {
    const started = await startWithFrames({ hub: { holidays: new Set(['2023-11-09']) } });
    running = started.running;
    started.frames$.next(at('2023-11-09T05:00:00.000Z'));
    await waitFor(() => running!.hub.seq > 0, 'the frame in the hub');
    expect(running.hub.status.market).toBe('closed');
  });
});
