/** Most events between two snapshot writes (below half the stream, so readers find what follows it). */
const SNAPSHOT_EVERY = 1000;

/**
 * When the ingest writes the snapshot to Redis: on demand (start, reconnect, re-seed, a clean
 * stop), else once `everyMs` passed or enough events went out without one. Readers roll the
 * snapshot forward from the stream, so it only has to be no older than the stream reaches back.
 */
export class SnapshotThrottle {
  private due = true;
  private at: number;
  private readonly everyEvents: number;

  /**
   * @param seq the seq Redis's snapshot is at (or is about to be)
   * @param maxLen the stream's length, about: a snapshot comes every half of it at least
   */
  constructor(
    private seq: number,
    private readonly everyMs: number,
    maxLen: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.at = now();
    this.everyEvents = Math.min(SNAPSHOT_EVERY, Math.max(1, Math.floor(maxLen / 2)));
  }

  /** The next publish carries a snapshot, whatever the time. */
  force(): void {
    this.due = true;
  }

  /** Whether a publish that brings Redis to `seq` carries the snapshot. */
  wants(seq: number): boolean {
    const behind = seq - this.seq;
    return this.due || behind >= this.everyEvents || (behind > 0 && this.now() - this.at >= this.everyMs);
  }

  /** Whether a snapshot is owed regardless of events (forced). */
  get forced(): boolean {
    return this.due;
  }

  /** Redis took the snapshot as of `seq`. */
  written(seq: number): void {
    this.seq = seq;
    this.at = this.now();
    this.due = false;
  }

  /** After the last publish brought Redis to `seq`: ms until a snapshot is owed, or undefined if none will be. */
  dueIn(seq: number): number | undefined {
    return seq > this.seq ? Math.max(0, this.at + this.everyMs - this.now()) : undefined;
  }
}
