import { once } from 'node:events';
import { createServer } from 'node:http';
import { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { rawSocketOf, textFrame } from '../../src/transport/ws-adapter.ts';

/** What ws's own receiver makes of `frame`: the text of the one message it holds. */
const received = async (frame: Buffer): Promise<string> => {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  try {
    wss.once('connection', (ws) => rawSocketOf(ws)!.write(frame));
    const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
    const [data] = (await once(client, 'message')) as [Buffer];
    client.terminate();
    return data.toString();
  } finally {
    wss.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }
};

// These break when a ws upgrade renames or reshapes the internals the sink relies on.
describe('the ws adapter', () => {
  it('builds a whole unmasked text frame with the header RFC 6455 gives each payload length', () => {
    expect([...textFrame(Buffer.from('hi'))]).toEqual([0x81, 2, 0x68, 0x69]);
    const medium = textFrame(Buffer.alloc(300, 0x61));
    expect(medium.length).toBe(4 + 300);
    expect([medium[0], medium[1], medium.readUInt16BE(2)]).toEqual([0x81, 126, 300]);
    const large = textFrame(Buffer.alloc(70_000, 0x61));
    expect(large.length).toBe(10 + 70_000);
    expect([large[0], large[1], Number(large.readBigUInt64BE(2))]).toEqual([0x81, 127, 70_000]);
  });

  it('finds the net socket under a server-side WebSocket', async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
    const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
    const [[ws]] = await Promise.all([accepted, once(client, 'open')]);
    expect(rawSocketOf(ws)).toBeInstanceOf(Socket);
    expect((rawSocketOf(ws) as Socket).remotePort).toBe((rawSocketOf(client) as Socket).localPort);
    client.terminate();
    wss.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  it('writes frames a ws client reads as messages, ASCII and multi-byte alike', async () => {
    expect(await received(textFrame(Buffer.from('{"type":"quote"}')))).toBe('{"type":"quote"}');
    const long = `"${'é'.repeat(40_000)}"`;
    expect(await received(textFrame(Buffer.from(long)))).toBe(long);
  });
});
