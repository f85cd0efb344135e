import type { ServerResponse } from 'node:http';

/**
 * The demo page's Content-Security-Policy: its scripts only from this server (no inline
 * script, so injected markup cannot run any), WebSocket and fetch to any server (the demo may
 * point at another), styles inline (the page's own and the widget's shadow-DOM sheet), and no
 * framing, plugins, base or form tricks.
 */
export const DEMO_PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self' ws: wss: http: https:",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every HTTP answer: a browser must not guess a type other than the one we send. */
export const applySecurityHeaders = (res: ServerResponse): void => {
  res.setHeader('x-content-type-options', 'nosniff');
};
