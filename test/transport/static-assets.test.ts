import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../src/hub/hub.ts';
import { startServer, type RunningServer } from '../../src/transport/server.ts';
import { pickEncoding } from '../../src/transport/static-assets.ts';
import { quietLog } from '../helpers.ts';

/** One raw HTTP exchange (no client-side decompression or caching). */
const get = (port: number, path: string, headers: Record<string, string> = {}, method = 'GET') =>
  new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });

// A script big enough that compression matters, and a page that loads it.
const WIDGET = Buffer.from(
  Array.from({ length: 400 }, (_, i) => `customElements.whenDefined("tick-tape-${i}");`).join('\n'),
);
const PAGE = '<!doctype html><script src="/widget.js" defer></script><script src="/other.js"></script>';

describe('the widget and demo assets over HTTP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickstream-assets-'));
  let server: RunningServer;
  let port: number;

  beforeAll(async () => {
    writeFileSync(join(dir, 'widget.js'), WIDGET);
    writeFileSync(join(dir, 'index.html'), PAGE);
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      heartbeatMs: 60_000,
      maxPayload: 65_536,
      hub: new Hub({ history: { size: 100, ageMs: 60_000 }, headlineCount: 50, epoch: 'E' }),
      log: quietLog(),
      assets: new Map([
        ['/', { file: join(dir, 'index.html'), type: 'text/html; charset=utf-8' }],
        ['/widget.js', { file: join(dir, 'widget.js'), type: 'text/javascript; charset=utf-8' }],
        ['/demo.js', { file: join(dir, 'not-built.js'), type: 'text/javascript; charset=utf-8' }],
      ]),
    });
    port = server.port;
    // Read once at start: a rebuild under a running server does not change what it serves.
    writeFileSync(join(dir, 'widget.js'), 'changed();');
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the script with a content-hash ETag, CORS, and a 304 when unchanged', async () => {
    const first = await get(port, '/widget.js');
    expect(first.status).toBe(200);
    expect(first.body.equals(WIDGET)).toBe(true);
    expect(first.headers).toMatchObject({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, no-cache',
      'access-control-allow-origin': '*',
      vary: 'Accept-Encoding',
    });
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^"[\w-]{16}"$/);
    const again = await get(port, '/widget.js', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(etag);
    expect((await get(port, '/widget.js', { 'if-none-match': '"stale"' })).status).toBe(200);
  });

  it('compresses by Accept-Encoding: brotli first, then gzip, else identity', async () => {
    const br = await get(port, '/widget.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).equals(WIDGET)).toBe(true);
    expect(br.body.length).toBeLessThan(WIDGET.length / 4);
    const gz = await get(port, '/widget.js', { 'accept-encoding': 'gzip;q=0.8, br;q=0' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(WIDGET)).toBe(true);
    expect(gz.headers.etag).not.toBe(br.headers.etag);
    const plain = await get(port, '/widget.js', { 'accept-encoding': 'identity' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    // A cached compressed copy revalidates just the same.
    expect((await get(port, '/widget.js', { 'if-none-match': br.headers.etag! })).status).toBe(304);
    const head = await get(port, '/widget.js', { 'accept-encoding': 'br' }, 'HEAD');
    expect([head.status, head.body.length, head.headers['content-length']]).toEqual([
      200,
      0,
      String(br.body.length),
    ]);
  });

  it('lets the current version be cached forever, and versions the page’s script tags with their SRI hash', async () => {
    const page = (await get(port, '/')).body.toString();
    const integrity = `sha384-${createHash('sha384').update(WIDGET).digest('base64')}`;
    const tag =
      /<script src="\/widget\.js\?v=([\w-]+)" integrity="([^"]+)" crossorigin="anonymous" defer>/.exec(page);
    expect(tag?.[2]).toBe(integrity);
    const versioned = await get(port, `/widget.js?v=${tag![1]}`);
    expect(versioned.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(versioned.body.equals(WIDGET)).toBe(true);
    // An old version's URL gets today's file, which must not be cached as that version.
    expect((await get(port, '/widget.js?v=old')).headers['cache-control']).toBe('public, no-cache');
    // A script that is not an asset is left as written.
    expect(page).toContain('<script src="/other.js"></script>');
  });

  it('answers 503 with what to run for an asset that was not built', async () => {
    const res = await get(port, '/demo.js');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body.toString())).toMatchObject({
      message: '/demo.js is not built; run npm run build',
    });
  });

  it('reads Accept-Encoding q-values and wildcards', () => {
    expect(pickEncoding(undefined)).toBeUndefined();
    expect(pickEncoding('br;q=0, gzip')).toBe('gzip');
    expect(pickEncoding('*')).toBe('br');
    expect(pickEncoding('*, br;q=0')).toBe('gzip');
    expect(pickEncoding('deflate')).toBeUndefined();
  });
});
