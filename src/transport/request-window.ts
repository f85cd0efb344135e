/** Symbols one connection may name per second, in multiples of `maxSymbols`. */
const SYMBOL_BUDGET_PER_SECOND = 2;
/** Window over which bad and excess requests add up to a 1008 close. */
const ABUSE_WINDOW_MS = 10_000;

/** What a request may cost one connection: its count per second and the symbols it names. */
export interface RequestBudget {
  maxRequestsPerSecond: number;
  maxSymbols: number;
}

/** The verdict on one more request this second. */
export type Admit = 'ok' | 'over' | 'still_over';

/**
 * One connection's request rate (per one-second window), its budget of symbols named per
 * second, and its abuse count (bad or excess requests per ten seconds) toward a 1008 close.
 * Times are the transport scheduler's, so tests run it in virtual time.
 */
export class RequestWindow {
  private windowStart = -Infinity;
  private requests = 0;
  private symbols = 0;
  private abuseStart = -Infinity;
  private abuse = 0;

  constructor(private readonly budget: RequestBudget) {}

  /** Counts one request at `now`: `over` for the first one past the limit this second, `still_over` after. */
  admit(now: number): Admit {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.requests = 0;
      this.symbols = 0;
    }
    const max = this.budget.maxRequestsPerSecond;
    if (++this.requests <= max) return 'ok';
    return this.requests === max + 1 ? 'over' : 'still_over';
  }

  /** Milliseconds until this second's window ends and its counts start again. */
  msLeft(now: number): number {
    return Math.max(0, Math.ceil(this.windowStart + 1000 - now));
  }

  /** The most symbols all requests of one second may name together. */
  get symbolBudget(): number {
    return this.budget.maxSymbols * SYMBOL_BUDGET_PER_SECOND;
  }

  /**
   * Charges `named` symbols to this second's budget; false (and nothing charged) when they do
   * not fit. One request may name what a connection may hold, all requests of one second twice
   * that: enough to rebuild a whole subscription, not to make the server do it twenty times a second.
   */
  charge(named: number): boolean {
    if (this.symbols + named > this.symbolBudget) return false;
    this.symbols += named;
    return true;
  }

  /** Counts one bad or excess request at `now`; returns the count when it crosses the close bound, else undefined. */
  strike(now: number): number | undefined {
    if (now - this.abuseStart >= ABUSE_WINDOW_MS) {
      this.abuseStart = now;
      this.abuse = 0;
    }
    return ++this.abuse > this.budget.maxRequestsPerSecond * 5 ? this.abuse : undefined;
  }
}
