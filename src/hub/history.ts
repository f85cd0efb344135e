import type { HubMessage } from '../protocol/messages.ts';

/** How far back history reaches. */
export interface HistoryLimits {
  /** How many events to keep at most. */
  size: number;
  /** How long (ms) to keep an event, by the hub-clock time it was added. */
  ageMs: number;
}

/** One held event and the hub-clock time (ms) it was recorded at. */
export interface HistoryEntry {
  message: HubMessage;
  at: number;
}

/** The recent events, in seq order, bounded by count and age, for clients that resume. */
export class History {
  // Evicted slots are cleared at once so their events can be collected before the next compaction.
  private entries: (HistoryEntry | undefined)[] = [];
  private head = 0;

  constructor(private readonly limits: HistoryLimits) {}

  /** Appends an event recorded at `at`, then evicts what `at` puts past the bounds. */
  add(message: HubMessage, at: number): void {
    this.entries.push({ message, at });
    this.evict(at);
  }

  /** Drops what is past the bounds; call with the current time. */
  evict(now: number): void {
    const oldest = now - this.limits.ageMs;
    while (this.length > this.limits.size || (this.length > 0 && this.entries[this.head]!.at < oldest))
      this.entries[this.head++] = undefined;
    // Compact now and then instead of shifting on every add.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Forgets every event: resume cannot reach across a gap in seq. */
  clear(): void {
    this.entries = [];
    this.head = 0;
  }

  get length(): number {
    return this.entries.length - this.head;
  }

  /** The seq of the oldest event held, or undefined when empty. */
  get firstSeq(): number | undefined {
    return this.entries[this.head]?.message.seq;
  }

  /** Events with seq greater than `seq`, oldest first. */
  after(seq: number): HubMessage[] {
    const out: HubMessage[] = [];
    for (let i = this.entries.length - 1; i >= this.head; i--) {
      const m = this.entries[i]!.message;
      if (m.seq <= seq) break;
      out.push(m);
    }
    return out.reverse();
  }

  /** Every event held with its time, oldest first. */
  all(): HistoryEntry[] {
    return this.entries.slice(this.head) as HistoryEntry[];
  }
}
