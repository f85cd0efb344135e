import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Logger } from 'pino';
import { refusedForGood, type Admission, type Refusal } from './admission.ts';
import type { Authenticator } from './auth.ts';
import type { Connection } from './connection.ts';
import { handleHttp, type HttpContext } from './http-routes.ts';
import { DEFAULT_HEADER_TIMEOUT_MS, type TransportConfig } from './options.ts';
import type { Sink } from './sink.ts';
import { openEventStream } from './sse.ts';

/** What the HTTP side needs beyond the routes' own context. */
export interface HttpDeps extends Omit<HttpContext, 'stream' | 'refusal' | 'address'> {
  auth: Authenticator;
  admission: Pick<Admission, 'decide' | 'addressOf'>;
  refuse: (address: string, refused: Refusal) => void;
  /** Registers an admitted SSE client. */
  openSse: (sink: Sink, address: string, expiresAt: number | undefined) => Connection;
  log: Logger;
}

/** The HTTP(S) server: the endpoints and SSE, with timeouts that cut a slowloris off. */
export const createHttpServer = (options: TransportConfig, deps: HttpDeps): Server => {
  const { auth, admission, refuse, openSse, log, ...routes } = deps;
  const onHttp = (req: IncomingMessage, res: ServerResponse) => {
    handleHttp(req, res, {
      ...routes,
      address: () => admission.addressOf(req),
      refusal: async (url) => {
        const verdict = await auth.check(req, url);
        if (verdict.ok) return undefined;
        refuse(admission.addressOf(req), { reason: verdict.reason, metric: 'auth' });
        return verdict.reason;
      },
      stream: async (url) => {
        const { address, refused, expiresAt } = await admission.decide(req, url);
        if (refused) {
          refuse(address, refused);
          const status = refusedForGood(refused) ? 403 : refused.metric === 'connect_rate' ? 429 : 503;
          return { status, message: refused.reason };
        }
        // The client may have gone while its token was checked.
        if (res.destroyed) return undefined;
        return openEventStream(req, res, url, routes.hub, (sink) => openSse(sink, address, expiresAt));
      },
    }).catch((err: unknown) => {
      // The client learns only that something failed; the stack stays in the log.
      log.error({ err }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"internal","message":"internal error"}');
    });
  };
  const headersTimeout = options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS;
  const httpOptions = {
    headersTimeout,
    // Nothing here uploads a body: a whole request takes no longer than its headers.
    requestTimeout: headersTimeout,
    // Node checks both only every connectionsCheckingInterval (30 s by default): a slowloris
    // would hold its socket up to three times the timeout.
    connectionsCheckingInterval: Math.min(Math.max(headersTimeout / 4, 100), 30_000),
  };
  return options.tls
    ? createTlsServer({ ...options.tls, ...httpOptions }, onHttp)
    : createServer(httpOptions, onHttp);
};
