/** Relative width of a bucket: values are kept to within 1%. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Ten seconds in microseconds; anything slower lands in the last bucket. */
const BUCKETS = Math.ceil(Math.log(10_000_000) / LOG_GROWTH) + 1;

/**
 * A latency histogram in log buckets (1% wide, 1 µs to 10 s): constant memory however many
 * samples, and histograms from several load generators merge by adding counts.
 */
export class Histogram {
  readonly counts: number[];

  constructor(counts?: readonly number[]) {
    this.counts = counts ? [...counts] : new Array<number>(BUCKETS).fill(0);
  }

  /** Records one value in milliseconds (negative clock skew counts as zero). */
  record(ms: number): void {
    this.recordMany(ms, 1);
  }

  /** Records `count` samples of the same value (deliveries that shared one frame and stamp). */
  recordMany(ms: number, count: number): void {
    const us = ms * 1000;
    const i = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / LOG_GROWTH));
    this.counts[i]! += count;
  }

  /** Adds another histogram's counts to this one. */
  add(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i] ?? 0;
  }

  get total(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  /** The value (ms, bucket upper bound) below which fraction `p` of samples lie; NaN when empty. */
  percentile(p: number): number {
    const total = this.total;
    if (total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(p * total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return GROWTH ** i / 1000;
    }
    return GROWTH ** (BUCKETS - 1) / 1000;
  }
}
