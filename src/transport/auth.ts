import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Security } from './options.ts';

const sameSecret = (a: string, b: string): boolean =>
  // Hashing first makes the comparison constant-time whatever the lengths.
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

const b64json = (part: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Checks an HS256 JWT: signature, `alg`, and `exp`/`nbf` when present.
 * Returns why it is refused, or undefined when it is good.
 */
export const verifyJwt = (token: string, secret: string, now = Date.now()): string | undefined => {
  const parts = token.split('.');
  if (parts.length !== 3) return 'token is not a JWT';
  const [head, body, sig] = parts as [string, string, string];
  const header = b64json(head);
  if (header?.alg !== 'HS256') return 'JWT must be signed with HS256';
  const expected = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return 'JWT signature does not match';
  const claims = b64json(body);
  if (!claims) return 'JWT payload is not JSON';
  const seconds = now / 1000;
  if (typeof claims.exp === 'number' && seconds >= claims.exp) return 'JWT has expired';
  if (typeof claims.nbf === 'number' && seconds < claims.nbf) return 'JWT is not valid yet';
  return undefined;
};

/** The token a client presents: `?token=` or `Authorization: Bearer`. */
const presentedToken = (req: IncomingMessage, url: URL): string | undefined => {
  const header = req.headers.authorization;
  const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
  return bearer ?? url.searchParams.get('token') ?? undefined;
};

/**
 * Whether a client may connect (WebSocket upgrade or SSE): origin allowed and token good.
 * Returns the refusal reason the client is told, or undefined when allowed.
 */
export const refusal = (
  req: IncomingMessage,
  url: URL,
  security: Security | undefined,
): string | undefined => {
  if (!security) return undefined;
  const origin = req.headers.origin;
  // Programs send no Origin; the list guards browsers, which always do.
  if (security.allowOrigins.length > 0 && origin !== undefined && !security.allowOrigins.includes(origin))
    return `origin ${origin} is not allowed`;
  if (security.authToken === undefined && security.jwtSecret === undefined) return undefined;
  const token = presentedToken(req, url);
  if (token === undefined) return 'a token is required (?token= or Authorization: Bearer)';
  if (security.authToken !== undefined && sameSecret(token, security.authToken)) return undefined;
  if (security.jwtSecret !== undefined) return verifyJwt(token, security.jwtSecret);
  return 'token is not valid';
};
