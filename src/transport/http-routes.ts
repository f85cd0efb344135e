import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hub } from '../hub/hub.ts';
import type { Metrics } from '../metrics.ts';
import type { StreamRefusal } from './sse.ts';

/** What the HTTP routes read from the server. */
export interface HttpContext {
  hub: Hub;
  startedAt: number;
  clientCount: () => number;
  waitingBytes: () => { total: number; max: number };
  /** Static files by URL path (the demo page, the widget bundle). */
  assets: ReadonlyMap<string, { file: string; type: string }>;
  metrics: Metrics;
  /** Whether the source has yielded a frame. */
  ready: () => boolean;
  notReadyReason: string;
  /** More fields for `/healthz` and `/readyz`. */
  health: () => Record<string, unknown>;
  /** Opens an SSE stream on this response, or says why not. */
  stream: (url: URL) => Promise<StreamRefusal | undefined>;
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
};

/** Answers the HTTP side of the port: health, metrics, snapshot, headlines, SSE and the demo assets. */
export const handleHttp = async (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: HttpContext,
): Promise<void> => {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return json(res, 400, { error: 'bad_request', message: 'the request URL does not parse' });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return json(res, 405, { error: 'method_not_allowed', message: 'only GET and HEAD are served' });
  }
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
    case '/metrics': {
      const text = await ctx.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType });
      return void res.end(text);
    }
    case '/api/stream': {
      const refused = await ctx.stream(url);
      if (refused) return json(res, refused.status, { error: 'refused', message: refused.message });
      return;
    }
    case '/api/snapshot': {
      const filter = url.searchParams.get('symbols');
      const wanted = filter
        ? new Set(
            filter
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          )
        : undefined;
      return json(res, 200, {
        epoch: hub.epoch,
        seq: hub.seq,
        quotes: hub.snapshot(wanted && ((s) => wanted.has(s))),
      });
    }
    case '/api/headlines': {
      const raw = url.searchParams.get('limit');
      const limit = raw === null ? undefined : Number(raw);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) {
        return json(res, 400, {
          error: 'bad_request',
          message: 'limit must be a whole number from 1 to 1000',
        });
      }
      return json(res, 200, { epoch: hub.epoch, seq: hub.seq, headlines: hub.latestHeadlines(limit) });
    }
  }
  const asset = ctx.assets.get(url.pathname);
  if (asset) {
    try {
      const body = await readFile(asset.file);
      res.writeHead(200, { 'content-type': asset.type });
      return void res.end(body);
    } catch {
      return json(res, 503, {
        error: 'unavailable',
        message: `${url.pathname} is not built; run npm run build`,
      });
    }
  }
  return json(res, 404, { error: 'not_found', message: `no route ${url.pathname}` });
};
