import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/serve.ts';
import { fixtureFrames, startWithFrames, waitFor } from '../helpers.ts';
import { httpGet } from './crowd.ts';

/** Writes raw bytes to the port and collects what comes back until the server closes. */
const raw = (port: number, bytes: string): Promise<{ text: string; closed: boolean }> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ text, closed: true }));
    // A server that keeps a keep-alive connection open has answered once the status line is in.
    const done = setInterval(() => {
      if (/\r\n\r\n/.test(text)) {
        clearInterval(done);
        socket.destroy();
      }
    }, 10);
    socket.on('close', () => clearInterval(done));
    socket.write(bytes);
  });

const statusOf = (text: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);

describe('HTTP abuse against a real server', () => {
  let running: Running;
  let port: number;

  beforeAll(async () => {
    const started = await startWithFrames();
    running = started.running;
    port = running.server.port;
    started.frames$.next(fixtureFrames('two-frames.txt')[0]!);
  });
  afterAll(() => running.close());

  const cases: { name: string; path: string; status: number }[] = [
    { name: 'an unknown path', path: '/nope', status: 404 },
    { name: 'a path traversal', path: '/../../etc/passwd', status: 404 },
    { name: 'an encoded NUL in the path', path: '/healthz%00', status: 404 },
    { name: 'limit that is not a number', path: '/api/headlines?limit=abc', status: 400 },
    { name: 'a negative limit', path: '/api/headlines?limit=-1', status: 400 },
    { name: 'a huge limit', path: '/api/headlines?limit=1e309', status: 400 },
    { name: 'bad percent-encoding', path: '/api/snapshot?symbols=%E0%A4%A', status: 400 },
    { name: 'a repeated and empty symbol list', path: '/api/snapshot?symbols=,,,&symbols=X', status: 200 },
    { name: 'a 10 kB query string', path: `/api/snapshot?symbols=${'A,'.repeat(5000)}`, status: 200 },
  ];

  it.each(cases)('$name ($path): $status with a JSON reason', async ({ path, status }) => {
    const r = await httpGet(port, path);
    expect(r.status).toBe(status);
    expect(() => JSON.parse(r.body) as unknown).not.toThrow();
    expect(r.body).not.toMatch(/\bat \S+:\d+/);
  });

  it('answers a method it does not serve with 405', async () => {
    const r = await raw(port, 'DELETE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(statusOf(r.text)).toBe(405);
  });

  it('answers a request line that is not HTTP with 400', async () => {
    const r = await raw(port, 'HELLO\r\n\r\n');
    expect(statusOf(r.text)).toBe(400);
  });

  it('answers oversized headers with 431', async () => {
    const r = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    expect(statusOf(r.text)).toBe(431);
  });

  it('answers a WebSocket upgrade on another path with 404 and one without a key with 400', async () => {
    const upgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n';
    const wrongPath = await raw(
      port,
      `GET /other HTTP/1.1\r\nHost: x\r\n${upgrade}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(statusOf(wrongPath.text)).toBe(404);
    const noKey = await raw(port, `GET /ws HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`);
    expect(statusOf(noKey.text)).toBe(400);
  });

  it('keeps answering /healthz while 300 slowloris requests from one address hold connections', async () => {
    const sockets: Socket[] = [];
    for (let i = 0; i < 300; i++) {
      // From another loopback address than the /healthz requests: another client.
      const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      s.on('error', () => {});
      // A request that never ends its headers.
      s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-${i}: `);
      sockets.push(s);
    }
    await waitFor(() => sockets.every((s) => !s.connecting), 'the slow sockets to connect');
    // One address holds at most 2 × --max-connections-per-ip (100) sockets: the rest are closed.
    await waitFor(() => sockets.filter((s) => s.destroyed).length === 100, 'the sockets past the cap closed');
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await httpGet(port, '/healthz');
      expect(r.status).toBe(200);
      latencies.push(r.ms);
    }
    for (const s of sockets) s.destroy();
    console.info(`slowloris: 300 half requests held, /healthz max ${Math.max(...latencies).toFixed(1)} ms`);
  });

  it('answers 408 and cuts off a client that does not finish its headers within --header-timeout', async () => {
    const strict = await startWithFrames({ transport: { headerTimeoutMs: 500 } });
    try {
      const { text, closed } = await raw(
        strict.running.server.port,
        'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ',
      );
      expect(closed).toBe(true);
      expect(statusOf(text)).toBe(408);
    } finally {
      await strict.running.close();
    }
  });

  it('is still healthy after all of it', async () => {
    const r = await httpGet(port, '/healthz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'ok', seq: 35 });
  });
});
