import { afterEach, describe, expect, it } from 'vitest';
import type { Running } from '../../src/serve.ts';
import { startWithFrames, TestClient } from '../helpers.ts';

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
});
