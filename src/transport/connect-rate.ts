/** Buckets held before full ones are swept: one per address that connected recently. */
const SWEEP_AT = 10_000;

/**
 * New connections per client address as a token bucket: `perSecond` on average, bursts up to
 * `burst`. Opening a connection costs a greeting and a snapshot, so one address opening and
 * closing them in a loop would cost the server without ever holding many at once.
 */
export class ConnectRate {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private sweepAt = SWEEP_AT;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {}

  /** Takes one token for `address`; false when it has none left. */
  take(address: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(address);
    const tokens = bucket
      ? Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond)
      : this.burst;
    if (tokens < 1) return false;
    this.buckets.set(address, { tokens: tokens - 1, at: now });
    if (this.buckets.size > this.sweepAt) {
      this.sweep(now);
      // Many addresses all still busy: the next sweep waits until twice as many, so sweeping
      // stays linear overall.
      this.sweepAt = Math.max(SWEEP_AT, this.buckets.size * 2);
    }
    return true;
  }

  /** Forgets addresses whose bucket has refilled: they are as good as new. */
  private sweep(now: number): void {
    for (const [address, b] of this.buckets)
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(address);
  }
}
