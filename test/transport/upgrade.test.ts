import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Verdict } from '../../src/transport/admission.ts';
import { handleUpgrades } from '../../src/transport/upgrade.ts';
import { quietLog, waitFor } from '../helpers.ts';

class Client {
  received: string[] = [];
  released: (number | undefined)[] = [];
  receive(data: Buffer) {
    this.received.push(data.toString());
  }
  release(code?: number) {
    this.released.push(code);
  }
}

describe('upgrade handling', () => {
  let http: Server | undefined;
  let sockets: Set<WebSocket> | undefined;
  afterEach(async () => {
    sockets?.forEach((ws) => ws.terminate());
    http?.closeAllConnections();
    await new Promise((resolve) => http?.close(resolve));
  });

  const start = async (verdict: Verdict) => {
    http = createServer();
    const clients: Client[] = [];
    const pongs: Client[] = [];
    const refused: string[] = [];
    const wss = handleUpgrades(http, {
      maxPayload: 1024,
      decide: async () => verdict,
      refuse: (_address, r) => refused.push(r.reason),
      accept: () => {
        const c = new Client();
        clients.push(c);
        return c;
      },
      pong: (c) => pongs.push(c),
      log: quietLog(),
    });
    sockets = wss.clients;
    await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve));
    const base = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
    return { base, clients, pongs, refused, wss };
  };

  it('answers 404 off /ws without a handshake', async () => {
    const { base } = await start({ address: '127.0.0.1', refused: undefined });
    const ws = new WebSocket(`${base}/other`);
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(res.statusCode).toBe(404);
  });

  it('routes an accepted socket’s messages, pongs and close to its client', async () => {
    const { base, clients, pongs, wss } = await start({ address: '127.0.0.1', refused: undefined });
    const ws = new WebSocket(`${base}/ws`);
    await once(ws, 'open');
    ws.send('{"op":"ping"}');
    await waitFor(() => clients[0]?.received[0], 'the message');
    expect(clients[0]!.received).toEqual(['{"op":"ping"}']);
    const [server] = [...wss.clients];
    server!.ping();
    await waitFor(() => pongs[0], 'the pong');
    ws.close(1000);
    await waitFor(() => clients[0]!.released[0], 'the release');
    expect(clients[0]!.released).toEqual([1000]);
  });

  // A token or origin refusal holds; a limit passes with time, and the client is told to retry.
  it.each([
    ['auth', 1008],
    ['max_connections', 1013],
  ])('refuses after the handshake with the reason: %s closes %i', async (metric, closeCode) => {
    const { base, clients, refused } = await start({
      address: '127.0.0.1',
      refused: { reason: `refused for ${metric}`, metric },
    });
    const ws = new WebSocket(`${base}/ws`);
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    expect([code, reason.toString()]).toEqual([closeCode, `refused for ${metric}`]);
    expect(refused).toEqual([`refused for ${metric}`]);
    expect(clients).toEqual([]);
  });
});
