import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { TickstreamError } from '../errors.ts';
import { createAuthenticator, type Authenticator } from './auth.ts';
import { applySecurityHeaders } from './security-headers.ts';

/** Where `/metrics` is served and what it asks for. */
export interface MetricsAccess {
  /** Required as `Authorization: Bearer` (or `?token=`) when set. */
  token?: string;
  /** A listener of its own for `/metrics` (then the main port does not serve it). */
  port?: number;
  /** Its address; loopback unless told otherwise. */
  host?: string;
}

/** The check `--metrics-token` asks for: the clients' token check, with this token and no origin list. */
export const metricsGuard = (token: string | undefined, log: Logger): Authenticator | undefined =>
  token === undefined
    ? undefined
    : createAuthenticator({ allowOrigins: [], authToken: token }, { now: () => Date.now(), log });

/** Serves `GET /metrics` from `registry`, behind `guard` when there is one. */
export const serveMetrics = async (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  registry: Registry,
  guard: Authenticator | undefined,
): Promise<void> => {
  const verdict = guard ? await guard.check(req, url) : { ok: true as const };
  if (!verdict.ok) {
    res.writeHead(401, { 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer' });
    res.end(JSON.stringify({ error: 'unauthorized', message: `/metrics: ${verdict.reason}` }));
    return;
  }
  const text = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType });
  res.end(text);
};

/** The `/metrics` listener of `--metrics-port`, or nothing when the main port serves it. */
export interface MetricsListener {
  readonly port: number | undefined;
  close(): Promise<void>;
}

/** Starts a listener that serves only `/metrics` when `access.port` asks for one (on loopback by default). */
export const openMetricsListener = async (
  access: MetricsAccess | undefined,
  registry: Registry,
  log: Logger,
): Promise<MetricsListener> => {
  if (access?.port === undefined) return { port: undefined, close: async () => {} };
  const guard = metricsGuard(access.token, log);
  const server = createServer((req, res) => {
    applySecurityHeaders(res);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end('{"error":"not_found","message":"this port serves GET /metrics only"}');
      return;
    }
    serveMetrics(req, res, url, registry, guard).catch((err: unknown) => {
      log.error({ err }, 'metrics handler failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause: Error) =>
      reject(
        new TickstreamError('listen_failed', `--metrics-port ${access.port}: ${cause.message}`, { cause }),
      ),
    );
    server.listen({ port: access.port, host: access.host ?? '127.0.0.1' }, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
};
