import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hub } from '../hub/hub.ts';
import type { Metrics } from '../metrics.ts';
import type { Authenticator } from './auth.ts';
import { answerPreflight, applyCors, isCorsPath } from './cors.ts';
import { serveMetrics } from './metrics-endpoint.ts';
import { applySecurityHeaders, DEMO_PAGE_CSP } from './security-headers.ts';
import type { StreamRefusal } from './sse.ts';
import { candlesAnswer } from './candles-http.ts';
import { symbolsParam } from './query-lists.ts';
import type { ItemBudget } from './item-budget.ts';
import { sendAsset, type Assets } from './static-assets.ts';

/** What the HTTP routes read from the server. */
export interface HttpContext {
  hub: Hub;
  startedAt: number;
  clientCount: () => number;
  waitingBytes: () => { total: number; max: number };
  /** Static files by URL path (the demo page, the widget bundle), read at start. */
  assets: Assets;
  metrics: Metrics;
  /** Whether the source has yielded a frame. */
  ready: () => boolean;
  notReadyReason: string;
  /** More fields for `/healthz` and `/readyz`. */
  health: () => Record<string, unknown>;
  /** Opens an SSE stream on this response, or says why not. */
  stream: (url: URL) => Promise<StreamRefusal | undefined>;
  /** Why this request may not read data (origin, token), as for `/ws`; undefined when it may. */
  refusal: (url: URL) => Promise<string | undefined>;
  /** Origins whose pages may read `/api/*` (CORS). */
  allowOrigins: readonly string[];
  /** `/metrics` here: off when it has a port of its own; the token check it requires, if any. */
  metricsAccess: { served: boolean; guard: Authenticator | undefined };
  /** What the answers to each client address may hold, shared with the WebSocket side. */
  items: ItemBudget;
  /** The address of this request's client (`--trust-proxy`). */
  address: () => string;
}

/**
 * Probes and scrapes: never refused for an address's items, since a proxy in front may share
 * its address with the clients.
 */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
};

/** Answers a data route; each returns how many items its answer held. */
const snapshot = (res: ServerResponse, url: URL, hub: Hub): number => {
  const symbols = symbolsParam(url.searchParams);
  if ('error' in symbols) {
    json(res, 400, { error: 'bad_request', message: symbols.error });
    return 0;
  }
  const quotes = hub.snapshot(symbols.wants);
  json(res, 200, { epoch: hub.epoch, seq: hub.seq, quotes });
  return quotes.length;
};

const candles = (res: ServerResponse, url: URL, hub: Hub): number => {
  const answer = candlesAnswer(url, hub);
  if (answer.status === 200) json(res, 200, answer.body);
  else json(res, 400, { error: 'bad_request', message: answer.message });
  return answer.items ?? 0;
};

const headlines = (res: ServerResponse, url: URL, hub: Hub): number => {
  const raw = url.searchParams.get('limit');
  const limit = raw === null ? undefined : Number(raw);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) {
    json(res, 400, { error: 'bad_request', message: 'limit must be a whole number from 1 to 1000' });
    return 0;
  }
  const latest = hub.latestHeadlines(limit);
  json(res, 200, { epoch: hub.epoch, seq: hub.seq, headlines: latest });
  return latest.length;
};

/**
 * A 429 for a client whose address has no items left; its connection is not kept alive, so
 * a client that does not wait pays a new connection for each refusal.
 */
const tooMany = (res: ServerResponse, ctx: HttpContext, address: string): void => {
  const { message, retryAfterMs } = ctx.items.refusal(address);
  ctx.metrics.requestErrors.inc({ code: 'rate_limited' });
  res.setHeader('retry-after', String(Math.ceil(retryAfterMs / 1000)));
  res.setHeader('connection', 'close');
  json(res, 429, { error: 'rate_limited', message, retryAfterMs });
};

/** Answers the HTTP side of the port: health, metrics, snapshot, headlines, SSE and the demo assets. */
export const handleHttp = async (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: HttpContext,
): Promise<void> => {
  applySecurityHeaders(res);
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return json(res, 400, { error: 'bad_request', message: 'the request URL does not parse' });
  }
  if (isCorsPath(url.pathname)) {
    if (req.method === 'OPTIONS') return answerPreflight(req, res, ctx.allowOrigins);
    applyCors(req, res, ctx.allowOrigins);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return json(res, 405, { error: 'method_not_allowed', message: 'only GET and HEAD are served' });
  }
  // Every request but the probes is charged to its address: an answer's items, and the request.
  const address = PROBES.has(url.pathname) ? undefined : ctx.address();
  if (address !== undefined && ctx.items.retryAfterMs(address) > 0) return tooMany(res, ctx, address);
  let items = 0;
  try {
    items = (await route(req, res, url, ctx)) ?? 0;
  } finally {
    if (address !== undefined) ctx.items.charge(address, items);
  }
};

/** Answers one request by its path; a data route returns how many items its answer held. */
const route = async (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  ctx: HttpContext,
): Promise<number | void> => {
  const { hub } = ctx;
  switch (url.pathname) {
    case '/healthz':
      return json(res, 200, {
        status: 'ok',
        epoch: hub.epoch,
        seq: hub.seq,
        clients: ctx.clientCount(),
        waitingBytes: ctx.waitingBytes(),
        source: hub.status.state,
        market: hub.status.market,
        uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
        ...ctx.health(),
      });
    case '/readyz':
      return ctx.ready()
        ? json(res, 200, { ready: true, ...ctx.health() })
        : json(res, 503, { ready: false, message: ctx.notReadyReason, ...ctx.health() });
    case '/metrics':
      if (!ctx.metricsAccess.served) break;
      return serveMetrics(req, res, url, ctx.metrics.registry, ctx.metricsAccess.guard);
    case '/api/stream': {
      const refused = await ctx.stream(url);
      if (refused) return json(res, refused.status, { error: 'refused', message: refused.message });
      return;
    }
    case '/api/snapshot':
    case '/api/candles':
    case '/api/headlines': {
      // The same origin and token rules as /ws and /api/stream: data leaves only one way.
      const denied = await ctx.refusal(url);
      if (denied !== undefined) return json(res, 403, { error: 'refused', message: denied });
      if (url.pathname === '/api/candles') return candles(res, url, hub);
      return url.pathname === '/api/snapshot' ? snapshot(res, url, hub) : headlines(res, url, hub);
    }
  }
  if (url.pathname === '/') res.setHeader('content-security-policy', DEMO_PAGE_CSP);
  const asset = ctx.assets.get(url.pathname);
  if (asset && 'missing' in asset) return json(res, 503, { error: 'unavailable', message: asset.missing });
  if (asset) return sendAsset(req, res, url, asset);
  return json(res, 404, { error: 'not_found', message: `no route ${url.pathname}` });
};
