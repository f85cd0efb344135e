/** Reconnect delay bounds, in milliseconds. */
export interface BackoffOptions {
  /** The ceiling of the first delay. */
  baseMs: number;
  /** No delay is ever longer than this. */
  capMs: number;
}

/** The defaults: a first retry within half a second, never more than 30 s apart. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 30_000 };

/**
 * Full-jitter backoff: a uniformly random delay in [0, min(cap, base·2^attempt)), so clients
 * dropped together by a restart do not all come back in the same instant.
 */
export const backoffDelay = (
  attempt: number,
  { baseMs, capMs }: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number => random() * Math.min(capMs, baseMs * 2 ** attempt);
