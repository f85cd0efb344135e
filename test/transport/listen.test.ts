import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { closeClients, listen } from '../../src/transport/listen.ts';
import { FakeSink } from './fake-sink.ts';

describe('listen and shutdown', () => {
  it('listens on a free port, and fails with listen_failed on one in use', async () => {
    const first = createServer();
    const port = await listen(first, '127.0.0.1', 0);
    expect(port).toBeGreaterThan(0);
    const second = createServer();
    await expect(listen(second, '127.0.0.1', port)).rejects.toMatchObject({
      code: 'listen_failed',
      message: expect.stringContaining(`127.0.0.1:${port}`),
    });
    await new Promise((resolve) => first.close(resolve));
  });

  it('closes every client with 1001 and cuts off one that never answers after the grace period', async () => {
    const answering = new FakeSink();
    const silent = new FakeSink();
    const client = (sink: FakeSink, answers: boolean) => ({
      sink,
      close: (code: number, reason: string) => {
        sink.closedWith = { code, reason };
        if (answers) sink.terminate();
      },
    });
    await closeClients([client(answering, true), client(silent, false)], 10);
    expect(answering.closedWith).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(silent.closedWith?.code).toBe(1001);
    expect(silent.terminated).toBe(true);
  });
});
