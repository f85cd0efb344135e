import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Running } from '../../src/serve.ts';
import { attempt, startWithFrames, TestClient, waitFor } from '../helpers.ts';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (secret: string, claims: object, alg = 'HS256') => {
  const head = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
};

describe('who may connect', () => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });
  const start = async (overrides: Parameters<typeof startWithFrames>[0]) => {
    running = (await startWithFrames(overrides)).running;
    return running.server.url;
  };

  it('refuses a browser origin not on the list with 1008 and says why; accepts listed ones and programs', async () => {
    const url = await start({ transport: { security: { allowOrigins: ['https://good.example'] } } });
    expect(await attempt(url, { origin: 'https://evil.example' })).toEqual({
      code: 1008,
      reason: 'origin https://evil.example is not allowed',
    });
    expect((await attempt(url, { origin: 'https://good.example' })).code).toBe('open');
    expect((await attempt(url)).code).toBe('open');
  });

  it('requires the shared token from ?token= or Authorization: Bearer', async () => {
    const url = await start({ transport: { security: { allowOrigins: [], authToken: 's3cret' } } });
    expect(await attempt(url)).toEqual({
      code: 1008,
      reason: 'a token is required (?token= or Authorization: Bearer)',
    });
    expect((await attempt(`${url}?token=wrong`)).code).toBe(1008);
    expect((await attempt(`${url}?token=s3cret`)).code).toBe('open');
    expect((await attempt(url, { headers: { authorization: 'Bearer s3cret' } })).code).toBe('open');
  });

  it('accepts an HS256 JWT signed with the secret, refuses a forged, expired or alg-swapped one', async () => {
    const url = await start({
      transport: { security: { allowOrigins: [], jwt: { secret: 'k', leewaySeconds: 0 } } },
    });
    const later = Math.floor(Date.now() / 1000) + 60;
    expect((await attempt(`${url}?token=${jwt('k', { sub: 'a', exp: later })}`)).code).toBe('open');
    expect(await attempt(`${url}?token=${jwt('other', { exp: later })}`)).toEqual({
      code: 1008,
      reason: 'JWT signature does not match',
    });
    expect((await attempt(`${url}?token=${jwt('k', { exp: 1 })}`)).reason).toBe('JWT has expired');
    expect((await attempt(`${url}?token=${jwt('k', {}, 'none')}`)).reason).toBe(
      'JWT must be signed with HS256',
    );
  });

  it('limits connections per address and in total', async () => {
    const url = await start({ transport: { limits: { maxConnectionsPerIp: 2, maxConnections: 10 } } });
    const held = [await TestClient.connect(url), await TestClient.connect(url)];
    expect(await attempt(url)).toEqual({ code: 1013, reason: 'at most 2 connections per address' });
    await held[0]!.close();
    await waitFor(() => running!.server.clientCount() === 1, 'the server to count the close');
    expect((await attempt(url)).code).toBe('open');
    await held[1]!.close();
  });

  it('refuses connections past the total with 1013, try again later', async () => {
    const url = await start({ transport: { limits: { maxConnections: 1 } } });
    const held = await TestClient.connect(url);
    expect(await attempt(url)).toEqual({ code: 1013, reason: 'server full: 1 connections' });
    await held.close();
  });

  it('fails to start with a readable error when the port is taken', async () => {
    await start({});
    await expect(startWithFrames({ transport: { port: running!.server.port } })).rejects.toThrow(
      `cannot listen on 127.0.0.1:${running!.server.port}: listen EADDRINUSE`,
    );
  });

  it('serves wss with a certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickstream-tls-'));
    try {
      const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          key,
          '-out',
          cert,
        ]),
        { stdio: 'ignore' },
      );
      const url = await start({ transport: { tls: { cert: readFileSync(cert), key: readFileSync(key) } } });
      expect(url.startsWith('wss://')).toBe(true);
      expect((await attempt(url, { ca: readFileSync(cert) })).code).toBe('open');
      const health = await fetch(url.replace('wss://', 'https://').replace('/ws', '/healthz')).catch(
        (e: Error) => e,
      );
      // An untrusted self-signed certificate is refused by fetch: the server speaks only TLS.
      expect(health).toBeInstanceOf(Error);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
