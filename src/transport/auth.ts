import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { SchedulerAction, SchedulerLike } from 'rxjs';
import { CloseCode } from '../protocol/messages.ts';
import { createJwtVerifier } from './jwt.ts';
import type { Security } from './options.ts';

/** The close reason a client whose token ran out is given. */
export const TOKEN_EXPIRED = 'token expired';
/** setTimeout's longest delay: a longer one fires at once, so longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Whether a client may connect, and until when (ms, on the transport's clock) when its token expires. */
export type Verdict = { ok: true; expiresAt?: number } | { ok: false; reason: string };

/** Decides who may connect (WebSocket upgrade, SSE); built once per server so key sets stay cached. */
export interface Authenticator {
  check(req: IncomingMessage, url: URL): Promise<Verdict>;
}

const sameSecret = (a: string, b: string): boolean =>
  // Hashing first makes the comparison constant-time whatever the lengths.
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

/** The token a client presents: `Authorization: Bearer` or `?token=` (browsers cannot set headers on a WebSocket). */
const presentedToken = (req: IncomingMessage, url: URL): string | undefined => {
  const bearer = req.headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  return bearer ?? url.searchParams.get('token') ?? undefined;
};

/**
 * The origin list, then the token: the static `--auth-token` (constant-time compare, never
 * expires) or a JWT checked against the configured keys. `now` is the transport's clock, so
 * expiry follows the same (virtual, in tests) time as every other timer.
 */
export const createAuthenticator = (
  security: Security | undefined,
  { now, log }: { now: () => number; log: Logger },
): Authenticator => {
  const verifyJwt = security?.jwt && createJwtVerifier(security.jwt);
  const needsToken = security?.authToken !== undefined || verifyJwt !== undefined;
  return {
    async check(req, url) {
      if (!security) return { ok: true };
      const origin = req.headers.origin;
      // Programs send no Origin; the list guards browsers, which always do.
      if (security.allowOrigins.length > 0 && origin !== undefined && !security.allowOrigins.includes(origin))
        return { ok: false, reason: `origin ${origin} is not allowed` };
      if (!needsToken) return { ok: true };
      const token = presentedToken(req, url);
      if (token === undefined)
        return { ok: false, reason: 'a token is required (?token= or Authorization: Bearer)' };
      if (security.authToken !== undefined && sameSecret(token, security.authToken)) return { ok: true };
      if (!verifyJwt) return { ok: false, reason: 'token is not valid' };
      const verdict = await verifyJwt(token, now());
      if (!verdict.ok && verdict.cause !== undefined)
        log.warn({ err: verdict.cause }, 'cannot check a JWT: the key set is unreachable or unusable');
      return verdict.ok ? verdict : { ok: false, reason: verdict.reason };
    },
  };
};

/** What {@link closeWhenExpired} needs of a connection. */
interface Expirable {
  close(code: number, reason: string): void;
  readonly sink: { onClosed(listener: () => void): void };
}

/**
 * Closes a connection with 1008 `token expired` once its token is no longer valid (`exp` plus
 * the leeway), on the transport's scheduler; the timer goes when the connection closes first.
 */
export const closeWhenExpired = (
  conn: Expirable,
  expiresAt: number,
  scheduler: SchedulerLike,
  onExpired: () => void,
): void => {
  const timer = scheduler.schedule(
    function (this: SchedulerAction<undefined>) {
      const left = expiresAt - scheduler.now();
      if (left > 0) {
        this.schedule(undefined, Math.min(left, MAX_TIMER_MS));
        return;
      }
      onExpired();
      conn.close(CloseCode.policy, TOKEN_EXPIRED);
    },
    Math.min(Math.max(0, expiresAt - scheduler.now()), MAX_TIMER_MS),
  );
  conn.sink.onClosed(() => timer.unsubscribe());
};
