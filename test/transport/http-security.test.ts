import { afterEach, describe, expect, it } from 'vitest';
import type { Running, ServeConfig } from '../../src/serve.ts';
import { startWithFrames } from '../helpers.ts';

const NEWS = 'https://news.example';

describe('HTTP: auth, CORS and headers', () => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });
  const start = async (transport: Partial<ServeConfig['transport']>) => {
    ({ running } = await startWithFrames({ transport }));
    return `http://127.0.0.1:${running.server.port}`;
  };

  it('applies the token and origin rules of /ws to /api/snapshot and /api/headlines', async () => {
    const base = await start({ security: { allowOrigins: [NEWS], authToken: 'T' } });
    for (const path of ['/api/snapshot', '/api/headlines']) {
      const bare = await fetch(`${base}${path}`);
      expect(bare.status).toBe(403);
      expect(await bare.json()).toEqual({
        error: 'refused',
        message: 'a token is required (?token= or Authorization: Bearer)',
      });
      expect((await fetch(`${base}${path}?token=T`)).status).toBe(200);
      expect((await fetch(`${base}${path}`, { headers: { authorization: 'Bearer T' } })).status).toBe(200);
      const elsewhere = await fetch(`${base}${path}?token=T`, {
        headers: { origin: 'https://evil.example' },
      });
      expect(elsewhere.status).toBe(403);
    }
  });

  it('lets an allowed origin read /api/* and /api/stream with CORS, preflight included', async () => {
    const base = await start({ security: { allowOrigins: [NEWS] } });
    const snapshot = await fetch(`${base}/api/snapshot`, { headers: { origin: NEWS } });
    expect(snapshot.headers.get('access-control-allow-origin')).toBe(NEWS);
    expect(snapshot.headers.get('vary')).toBe('Origin');
    const stream = await fetch(`${base}/api/stream`, { headers: { origin: NEWS } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('access-control-allow-origin')).toBe(NEWS);
    await stream.body?.cancel();

    const preflight = await fetch(`${base}/api/stream`, {
      method: 'OPTIONS',
      headers: {
        origin: NEWS,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(NEWS);
    expect(preflight.headers.get('access-control-allow-headers')).toBe('Authorization, Last-Event-ID');
    const refused = await fetch(`${base}/api/snapshot`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example' },
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBe(null);
  });

  it('sends no CORS headers when no origin is allowed, and none outside /api', async () => {
    const base = await start({});
    const res = await fetch(`${base}/api/snapshot`, { headers: { origin: NEWS } });
    expect(res.headers.get('access-control-allow-origin')).toBe(null);
    const other = await start({ security: { allowOrigins: [NEWS] } });
    expect(
      (await fetch(`${other}/healthz`, { headers: { origin: NEWS } })).headers.get(
        'access-control-allow-origin',
      ),
    ).toBe(null);
  });

  it('marks every answer nosniff and gives the demo page a Content-Security-Policy', async () => {
    const base = await start({});
    for (const path of ['/healthz', '/readyz', '/metrics', '/api/snapshot', '/nope', '/'])
      expect((await fetch(`${base}${path}`)).headers.get('x-content-type-options')).toBe('nosniff');
    const page = await fetch(`${base}/`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect((await fetch(`${base}/healthz`)).headers.get('content-security-policy')).toBe(null);
  });

  it('guards /metrics with --metrics-token', async () => {
    const base = await start({ metricsAccess: { token: 'M' } });
    const bare = await fetch(`${base}/metrics`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer T' } });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer M' } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('tickstream_connections');
  });

  it('serves /metrics on --metrics-port only, bound to loopback', async () => {
    const base = await start({ metricsAccess: { port: 0 } });
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    const port = running!.server.metricsPort!;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('tickstream_connections');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(404);
  });
});
