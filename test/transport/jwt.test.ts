import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as connectTcp } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import { VirtualTimeScheduler, type SchedulerLike } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { Hub } from '../../src/hub/hub.ts';
import { authConfig } from '../../src/transport/auth-options.ts';
import type { Security } from '../../src/transport/options.ts';
import { startServer, type RunningServer } from '../../src/transport/server.ts';
import { attempt, quietLog, TestClient, waitFor } from '../helpers.ts';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const start = async (security: Security, scheduler?: SchedulerLike, heartbeatMs = 60_000) => {
  const server = await startServer({
    hub: new Hub({ history: { size: 100, ageMs: 60_000 }, headlineCount: 10 }),
    log: quietLog(),
    port: 0,
    host: '127.0.0.1',
    heartbeatMs,
    // The memory ceiling's check, like the heartbeat, would run millions of times when a test jumps days.
    ceilingCheckMs: heartbeatMs,
    maxPayload: 65_536,
    security,
    ...(scheduler && { scheduler }),
  });
  cleanup.push(() => server.close());
  return server;
};

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickstream-jwt-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

const nowSeconds = () => Math.floor(Date.now() / 1000);

const sign = (
  key: CryptoKey | Uint8Array,
  alg: string,
  claims: JWTPayload = {},
  kid?: string,
  exp: number = nowSeconds() + 600,
) =>
  new SignJWT({ sub: 'reader', exp, ...claims })
    .setProtectedHeader({ alg, ...(kid !== undefined && { kid }) })
    .sign(key);

const withToken = (server: RunningServer, token: string) => `${server.url}?token=${token}`;

/** A key set served over HTTP whose keys a test can replace; counts how often it is fetched. */
const serveKeySet = async (initial: JSONWebKeySet) => {
  let keys = initial;
  let fetches = 0;
  const http: Server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(keys));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => http.close(resolve)));
  return {
    url: new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/jwks.json`),
    rotate: (next: JSONWebKeySet) => (keys = next),
    fetches: () => fetches,
    stop: () => new Promise((resolve) => http.close(resolve)),
  };
};

const publicJwk = async (publicKey: CryptoKey, kid: string, alg: string) => ({
  ...(await exportJWK(publicKey)),
  kid,
  alg,
  use: 'sig',
});

describe('JWT keys the way identity providers issue them', () => {
  it('accepts RS256 and ES256 tokens from a PEM public key given by flag, each only with its own algorithm', async () => {
    const dir = tempDir();
    for (const alg of ['RS256', 'ES256'] as const) {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const file = join(dir, `${alg}.pem`);
      writeFileSync(file, await exportSPKI(publicKey));
      const server = await start({ allowOrigins: [], ...authConfig({ 'jwt-public-key': file }, {}) });
      expect((await attempt(withToken(server, await sign(privateKey, alg)))).code).toBe('open');
      const other = await generateKeyPair(alg);
      expect(await attempt(withToken(server, await sign(other.privateKey, alg)))).toEqual({
        code: 1008,
        reason: 'JWT signature does not match',
      });
    }
  });

  it('refuses alg none, and an HS256 token keyed with the RSA public key (algorithm confusion)', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey);
    const file = join(tempDir(), 'key.pem');
    writeFileSync(file, pem);
    const server = await start({ allowOrigins: [], ...authConfig({ 'jwt-public-key': file }, {}) });
    const unsecured = new UnsecuredJWT({ sub: 'x', exp: nowSeconds() + 60 }).encode();
    expect(await attempt(withToken(server, unsecured))).toEqual({
      code: 1008,
      reason: 'JWT must be signed with RS256',
    });
    const confused = await sign(new TextEncoder().encode(pem), 'HS256');
    expect(await attempt(withToken(server, confused))).toEqual({
      code: 1008,
      reason: 'JWT must be signed with RS256',
    });
  });

  it('requires the audience and issuer asked for, with the clock leeway on exp', async () => {
    const secret = 'a-shared-secret-of-enough-length';
    const key = new TextEncoder().encode(secret);
    const server = await start({
      allowOrigins: [],
      ...authConfig(
        {
          'jwt-secret': secret,
          'jwt-audience': 'tickstream',
          'jwt-issuer': 'https://id.example',
          'jwt-leeway': '30s',
        },
        {},
      ),
    });
    const good = { aud: 'tickstream', iss: 'https://id.example' };
    expect((await attempt(withToken(server, await sign(key, 'HS256', good)))).code).toBe('open');
    expect(
      (await attempt(withToken(server, await sign(key, 'HS256', { ...good, aud: 'other' })))).reason,
    ).toBe('JWT is not for this audience');
    expect(
      (await attempt(withToken(server, await sign(key, 'HS256', { ...good, iss: 'https://evil.example' }))))
        .reason,
    ).toBe('JWT is not from the expected issuer');
    const justExpired = await sign(key, 'HS256', good, undefined, nowSeconds() - 10);
    expect((await attempt(withToken(server, justExpired))).code).toBe('open');
    const longExpired = await sign(key, 'HS256', good, undefined, nowSeconds() - 60);
    expect((await attempt(withToken(server, longExpired))).reason).toBe('JWT has expired');
  });

  it('verifies against a local JWKS file by kid', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const ec = await generateKeyPair('ES256', { extractable: true });
    const file = join(tempDir(), 'jwks.json');
    writeFileSync(
      file,
      JSON.stringify({
        keys: [await publicJwk(rsa.publicKey, 'r1', 'RS256'), await publicJwk(ec.publicKey, 'e1', 'ES256')],
      }),
    );
    const server = await start({ allowOrigins: [], ...authConfig({ 'jwt-jwks': file }, {}) });
    expect((await attempt(withToken(server, await sign(rsa.privateKey, 'RS256', {}, 'r1')))).code).toBe(
      'open',
    );
    expect((await attempt(withToken(server, await sign(ec.privateKey, 'ES256', {}, 'e1')))).code).toBe(
      'open',
    );
    expect(await attempt(withToken(server, await sign(rsa.privateKey, 'RS256', {}, 'r9')))).toEqual({
      code: 1008,
      reason: 'no key matches the JWT (kid)',
    });
  });

  it('fetches a remote JWKS once, and again when a token names a key it has not seen (rotation)', async () => {
    const first = await generateKeyPair('RS256', { extractable: true });
    const second = await generateKeyPair('ES256', { extractable: true });
    const keySet = await serveKeySet({ keys: [await publicJwk(first.publicKey, 'k1', 'RS256')] });
    const server = await start({
      allowOrigins: [],
      jwt: { jwks: keySet.url, leewaySeconds: 0, jwksCooldownMs: 0 },
    });
    const oldToken = await sign(first.privateKey, 'RS256', {}, 'k1');
    expect((await attempt(withToken(server, oldToken))).code).toBe('open');
    expect((await attempt(withToken(server, oldToken))).code).toBe('open');
    expect(keySet.fetches()).toBe(1);

    keySet.rotate({ keys: [await publicJwk(second.publicKey, 'k2', 'ES256')] });
    const newToken = await sign(second.privateKey, 'ES256', {}, 'k2');
    expect((await attempt(withToken(server, newToken))).code).toBe('open');
    expect(keySet.fetches()).toBe(2);

    await keySet.stop();
    const unknown = await sign(first.privateKey, 'RS256', {}, 'k3');
    expect(await attempt(withToken(server, unknown))).toEqual({
      code: 1008,
      reason: 'cannot check the token now; try again',
    });
  });

  it('keeps the static token beside JWTs', async () => {
    const server = await start({
      allowOrigins: [],
      authToken: 'static',
      jwt: { secret: 's', leewaySeconds: 0 },
    });
    expect((await attempt(withToken(server, 'static'))).code).toBe('open');
    expect((await attempt(withToken(server, 'wrong'))).reason).toBe('token is not a valid JWT');
  });
});

describe('a connection whose token expires', () => {
  const secret = new TextEncoder().encode('s');
  const security: Security = { allowOrigins: [], jwt: { secret: 's', leewaySeconds: 5 } };
  const day = 86_400_000;
  // Heartbeats would find the peer dead when virtual time jumps past two of them before its pong.
  const YEAR = 365 * day;
  /** Virtual time from 0: a test moves it to `ms` and runs what is due. */
  const clock = () => {
    const scheduler = new VirtualTimeScheduler();
    const advance = (ms: number) => {
      scheduler.maxFrames = ms;
      scheduler.flush();
    };
    return { scheduler, advance };
  };

  it('is closed over WebSocket with 1008 "token expired" at exp plus the leeway, not before', async () => {
    const { scheduler, advance } = clock();
    const server = await start(security, scheduler, YEAR);
    const client = await TestClient.connect(
      withToken(server, await sign(secret, 'HS256', {}, undefined, 120)),
    );
    await client.next('hello');
    advance(124_999);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    advance(125_000);
    const reason = await new Promise<string>((resolve) =>
      client.ws.once('close', (_c, r) => resolve(String(r))),
    );
    expect({ code: client.closeCode, reason }).toEqual({ code: 1008, reason: 'token expired' });
    const refused = await server.metrics.registry.getSingleMetricAsString('tickstream_refused_total');
    expect(refused).toContain('reason="token_expired"} 1');
  });

  it('is closed over SSE with a last "close" event', async () => {
    const { scheduler, advance } = clock();
    const server = await start(security, scheduler, YEAR);
    const token = await sign(secret, 'HS256', {}, undefined, 60);
    const res = await fetch(`http://127.0.0.1:${server.port}/api/stream?token=${token}`);
    expect(res.status).toBe(200);
    await waitFor(() => server.clientCount() === 1, 'the stream to be registered');
    advance(65_000);
    const text = await res.text();
    expect(text).toContain('event: close\ndata: {"code":1008,"reason":"token expired"}\n\n');
  });

  it('waits out a token valid for longer than a timer can (about 25 days) in steps', async () => {
    const { scheduler, advance } = clock();
    const server = await start(security, scheduler, YEAR);
    const exp = (40 * day) / 1000;
    const client = await TestClient.connect(
      withToken(server, await sign(secret, 'HS256', {}, undefined, exp)),
    );
    await client.next('hello');
    advance(30 * day);
    advance(39 * day);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    advance(41 * day);
    await waitFor(() => client.closeCode, 'the close');
    expect(client.closeCode).toBe(1008);
  });
});

describe('a client that resets its connection while its token is checked', () => {
  it('leaves the server running', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const keys = { keys: [await publicJwk(publicKey, 'k1', 'RS256')] };
    // A key set that answers only when the test says, so the check is still running at the reset.
    const held: (() => void)[] = [];
    const http = createServer((_req, res) =>
      held.push(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keys))),
    );
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => http.close(resolve)));
    const server = await start({
      allowOrigins: [],
      jwt: {
        jwks: new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/jwks.json`),
        leewaySeconds: 0,
      },
    });
    const token = await sign(privateKey, 'RS256', {}, 'k1');
    const raw = connectTcp(server.port, '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(
      `GET /ws?token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    await waitFor(() => held.length === 1, 'the key set to be asked');
    raw.resetAndDestroy();
    await new Promise((resolve) => raw.once('close', resolve));
    // A round trip through the server's event loop: the reset (already on loopback) is read
    // while the check still waits for the key set.
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    held.splice(0).forEach((answer) => answer());
    expect((await attempt(withToken(server, token))).code).toBe('open');
  });
});
