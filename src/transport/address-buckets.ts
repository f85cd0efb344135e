/**
 * How many seconds of its rate one address may take at once, for the budgets that are rates:
 * what it may take of the loop in one go is this and one answer past it.
 */
export const BURST_SECONDS = 2;

/** Buckets held before full ones are swept: one per address that asked recently. */
const SWEEP_AT = 10_000;

/**
 * A token bucket per client address: `perSecond` tokens come back each second, up to `burst`.
 * Spending may take a bucket below zero (a cost known only once the work is done); it is
 * paid back at the same rate.
 */
export class AddressBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private sweepAt = SWEEP_AT;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number,
  ) {}

  /** The tokens `address` holds now (a new address holds a whole burst). */
  level(address: string): number {
    const bucket = this.buckets.get(address);
    return bucket ? this.refilled(bucket, this.now()) : this.burst;
  }

  /** Takes `n` tokens from `address`, below zero if it has fewer. */
  spend(address: string, n: number): void {
    const now = this.now();
    this.buckets.set(address, { tokens: this.level(address) - n, at: now });
    if (this.buckets.size > this.sweepAt) {
      this.sweep(now);
      // Many addresses all still busy: the next sweep waits until twice as many, so sweeping
      // stays linear overall.
      this.sweepAt = Math.max(SWEEP_AT, this.buckets.size * 2);
    }
  }

  /** Milliseconds until `address` holds `n` tokens again (0 when it does now). */
  msUntil(address: string, n: number): number {
    const short = n - this.level(address);
    return short <= 0 ? 0 : Math.ceil((short / this.perSecond) * 1000);
  }

  private refilled(bucket: { tokens: number; at: number }, now: number): number {
    return Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
  }

  /** Forgets addresses whose bucket has refilled: they are as good as new. */
  private sweep(now: number): void {
    for (const [address, b] of this.buckets)
      if (this.refilled(b, now) >= this.burst) this.buckets.delete(address);
  }
}
