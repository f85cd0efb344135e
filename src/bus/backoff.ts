/** The first retry after a failure; each failure in a row doubles it, up to the cap. */
const FIRST_MS = 100;
const CAP_MS = 5000;

/** The wait before retry `attempt` (0 first): doubling from 100 ms to 5 s, jittered over its upper half. */
export const backoffDelay = (attempt: number, random: () => number = Math.random): number => {
  const delay = Math.min(CAP_MS, FIRST_MS * 2 ** attempt);
  // Jittered, so the processes of a cluster do not retry in step.
  return delay / 2 + (random() * delay) / 2;
};

/** A run of failures: what failed last and since when. */
export interface Failing {
  error: string;
  since: number;
}

/**
 * Retries an operation after failures with {@link backoffDelay}, and remembers since when it
 * has been failing, for `/healthz`.
 */
export class Backoff {
  private timer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private failing: Failing | undefined;
  private halted = false;

  constructor(private readonly retry: () => void) {}

  /** The current run of failures, if any. */
  get failure(): Failing | undefined {
    return this.failing;
  }

  /** Whether a retry is waiting for its turn. */
  get waiting(): boolean {
    return this.timer !== undefined;
  }

  /** Records a failure and schedules the retry; true for the first failure of a run. */
  fail(error: string): boolean {
    if (this.halted) return false;
    const first = this.failing === undefined;
    this.failing = { error, since: this.failing?.since ?? Date.now() };
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.retry();
    }, backoffDelay(this.attempts++)).unref();
    return first;
  }

  /** Fails for good: remembered, never retried, and not undone by a success that was under way. */
  halt(error: string): void {
    this.cancel();
    this.halted = true;
    this.failing = { error, since: Date.now() };
  }

  /** A success ends the run; returns how long it was failing (ms), or undefined if it was not. */
  succeed(): number | undefined {
    if (this.halted) return undefined;
    const since = this.failing?.since;
    this.failing = undefined;
    this.attempts = 0;
    return since === undefined ? undefined : Date.now() - since;
  }

  /** Drops the waiting retry (the caller retries now, or stops). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
