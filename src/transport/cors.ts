import type { IncomingMessage, ServerResponse } from 'node:http';

/** Paths a page on another origin may read: the JSON API and the SSE stream. */
export const isCorsPath = (path: string): boolean => path.startsWith('/api/');

/** How long a browser may cache a preflight answer, in seconds. */
const PREFLIGHT_MAX_AGE = 600;

/**
 * Lets a browser page on an origin `--allow-origin` lists read `/api/*` (an EventSource on a news
 * site's own domain, say): the origin is echoed, never `*`, and nothing is sent for other origins,
 * whose browsers then keep the answer from the page. With no list, no other origin is allowed.
 */
export const applyCors = (
  req: IncomingMessage,
  res: ServerResponse,
  allowOrigins: readonly string[],
): void => {
  if (allowOrigins.length === 0) return;
  // Answers differ by Origin: caches must keep them apart.
  res.setHeader('vary', 'Origin');
  const origin = req.headers.origin;
  if (origin !== undefined && allowOrigins.includes(origin))
    res.setHeader('access-control-allow-origin', origin);
};

/**
 * Answers a CORS preflight (`OPTIONS`) for `/api/*`: GET with the headers our clients send
 * (`Authorization` for a token, `Last-Event-ID` for SSE resume). Refused origins get 403.
 */
export const answerPreflight = (
  req: IncomingMessage,
  res: ServerResponse,
  allowOrigins: readonly string[],
): void => {
  applyCors(req, res, allowOrigins);
  if (!res.hasHeader('access-control-allow-origin')) {
    res.writeHead(403, { 'content-type': 'application/json; charset=utf-8' });
    res.end(
      JSON.stringify({ error: 'refused', message: 'this origin may not read the API; see --allow-origin' }),
    );
    return;
  }
  res.writeHead(204, {
    'access-control-allow-methods': 'GET, HEAD, OPTIONS',
    'access-control-allow-headers': 'Authorization, Last-Event-ID',
    'access-control-max-age': String(PREFLIGHT_MAX_AGE),
  });
  res.end();
};
