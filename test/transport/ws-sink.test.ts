import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { WsSink } from '../../src/transport/sink.ts';

describe('WsSink', () => {
  let wss: WebSocketServer | undefined;
  afterEach(() => wss?.close());

  it('reads the close handshake of a connection held back from reading', async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    const [server] = await accepted;
    await once(client, 'open');
    const sink = new WsSink(server);

    sink.pause();
    expect(server.isPaused).toBe(true);
    const serverClosed = once(server, 'close') as Promise<[number]>;
    sink.close(1001, 'bye');
    expect(server.isPaused).toBe(false);
    // The client's echo of the close is read, so the socket closes cleanly, not at ws's timeout.
    const [code] = await serverClosed;
    expect(code).toBe(1001);
  });
});
