import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { clientAddress, trustedProxies } from '../../src/transport/client-address.ts';
import type { Running } from '../../src/serve.ts';
import { startWithFrames, TestClient, waitFor } from '../helpers.ts';

const req = (peer: string, headers: Record<string, string> = {}) =>
  ({ socket: { remoteAddress: peer }, headers }) as unknown as IncomingMessage;

describe('clientAddress', () => {
  const trusted = trustedProxies(['10.0.0.0/8', '::1']);

  it('is the peer when no proxy is trusted or the peer is not one', () => {
    expect(clientAddress(req('203.0.113.5', { 'x-forwarded-for': '1.2.3.4' }), undefined)).toBe(
      '203.0.113.5',
    );
    expect(clientAddress(req('203.0.113.5', { 'x-forwarded-for': '1.2.3.4' }), trusted)).toBe('203.0.113.5');
  });

  it('takes the right-most X-Forwarded-For entry that is not a trusted proxy', () => {
    // The client wrote "6.6.6.6" itself; nginx appended the address it saw, 198.51.100.7.
    const forwarded = { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.1.2.3' };
    expect(clientAddress(req('10.0.0.2', forwarded), trusted)).toBe('198.51.100.7');
    expect(clientAddress(req('::ffff:10.0.0.2', forwarded), trusted)).toBe('198.51.100.7');
  });

  it('reads Forwarded when there is no X-Forwarded-For, IPv6 and ports included', () => {
    const headers = { forwarded: 'for=6.6.6.6, for="[2001:db8::7]:4711";proto=https, for=10.0.0.9' };
    expect(clientAddress(req('::1', headers), trusted)).toBe('2001:db8::7');
  });

  it('stops at an entry that is not an address, and is the peer without any header', () => {
    expect(clientAddress(req('10.0.0.2', { 'x-forwarded-for': 'unknown, 10.0.0.3' }), trusted)).toBe(
      '10.0.0.3',
    );
    expect(clientAddress(req('10.0.0.2'), trusted)).toBe('10.0.0.2');
  });

  it('refuses a --trust-proxy entry that is not an address or CIDR', () => {
    expect(() => trustedProxies(['10.0.0.0/33'])).toThrow(
      '--trust-proxy: "10.0.0.0/33" is not an address or CIDR',
    );
    expect(() => trustedProxies(['nginx'])).toThrow('--trust-proxy');
  });
});

/** How the server answered a connection: 'open' after hello, or the close code and reason. */
const attempt = (url: string, headers: Record<string, string> = {}) =>
  new Promise<{ code: number | 'open'; reason: string; ws: WebSocket }>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('message', (data) => {
      if (data.toString().includes('"hello"')) resolve({ code: 'open', reason: '', ws });
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), ws }));
    ws.on('error', reject);
  });

describe('per-address limits behind a proxy', () => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('counts each forwarded client on its own behind a trusted proxy, and ignores the header from others', async () => {
    ({ running } = await startWithFrames({
      transport: { trustProxy: ['127.0.0.1'], limits: { maxConnectionsPerIp: 1 } },
    }));
    const url = running.server.url;
    const a = await attempt(url, { 'x-forwarded-for': '198.51.100.1' });
    const b = await attempt(url, { 'x-forwarded-for': '198.51.100.2' });
    const again = await attempt(url, { 'x-forwarded-for': '6.6.6.6, 198.51.100.1' });
    expect([a.code, b.code, again.code]).toEqual(['open', 'open', 1013]);
    expect(again.reason).toBe('at most 1 connections per address');
    for (const c of [a, b]) c.ws.close();
    await running.close();

    ({ running } = await startWithFrames({ transport: { limits: { maxConnectionsPerIp: 1 } } }));
    const first = await attempt(running.server.url, { 'x-forwarded-for': '198.51.100.1' });
    const spoofed = await attempt(running.server.url, { 'x-forwarded-for': '198.51.100.2' });
    expect([first.code, spoofed.code]).toEqual(['open', 1013]);
    first.ws.close();
  });

  it('limits new connections per second from one address, WebSocket and SSE alike', async () => {
    // One token per 100 s: the burst of two is all this test gets, however slow the machine.
    ({ running } = await startWithFrames({
      transport: { limits: { connectsPerSecond: 0.01, maxConnectionsPerIp: 2 } },
    }));
    const held = [await TestClient.connect(running.server.url)];
    const base = running.server.url.replace('ws://', 'http://').replace('/ws', '');
    const stream = await fetch(`${base}/api/stream`);
    const third = await attempt(running.server.url);
    expect(stream.status).toBe(200);
    await stream.body?.cancel();
    expect(third).toMatchObject({
      code: 1013,
      reason: 'more than 0.01 new connections per second from one address',
    });
    const sse = await fetch(`${base}/api/stream`);
    expect(sse.status).toBe(429);
    const refused = await running.server.metrics.refused.get();
    expect(refused.values.find((v) => v.labels.reason === 'connect_rate')?.value).toBe(2);
    for (const c of held) await c.close();
  });

  it("closes sockets past twice --max-connections-per-ip from one address, idle ones included, but not a trusted proxy's", async () => {
    const sockets: Socket[] = [];
    const open = async (port: number) => {
      const socket = connect(port, '127.0.0.1');
      sockets.push(socket);
      const closed = { at: false };
      socket.on('close', () => (closed.at = true));
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      return { socket, closed };
    };
    /** An HTTP request on a socket held open: answered only if the server kept it. */
    const answered = (socket: Socket) =>
      new Promise<boolean>((resolve) => {
        socket.once('data', (data) => resolve(data.toString().startsWith('HTTP/1.1 200')));
        socket.once('close', () => resolve(false));
        socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      });
    try {
      ({ running } = await startWithFrames({ transport: { limits: { maxConnectionsPerIp: 2 } } }));
      const port = running.server.port;
      const idle = [];
      for (let i = 0; i < 4; i++) idle.push(await open(port));
      const fifth = await open(port);
      await waitFor(() => fifth.closed.at, 'the fifth socket closed');
      expect(await Promise.all(idle.map((s) => answered(s.socket)))).toEqual([true, true, true, true]);
      const refused = await running.server.metrics.refused.get();
      expect(refused.values.find((v) => v.labels.reason === 'sockets_per_ip')?.value).toBe(1);
      // One goes, and the address may open another.
      idle[0]!.socket.destroy();
      await waitFor(async () => {
        const again = await open(port);
        return (await answered(again.socket)) || undefined;
      }, 'a socket in the freed place');
      await running.close();

      ({ running } = await startWithFrames({
        transport: { trustProxy: ['127.0.0.1'], limits: { maxConnectionsPerIp: 2 } },
      }));
      const proxied = [];
      for (let i = 0; i < 6; i++) proxied.push(await open(running.server.port));
      expect(await Promise.all(proxied.map((s) => answered(s.socket)))).toEqual(Array(6).fill(true));
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});
