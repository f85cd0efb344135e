import type { FlushTally } from './send-queue.ts';
import { FrameCache } from './sink.ts';

/** A client the scheduler flushes: it writes what it holds, sharing frames through `frames`. */
export interface Flushable {
  flush(frames: FrameCache, sent: FlushTally): void;
  /** The scheduler's mark, true while the client waits for a flush: nothing else writes it. */
  flushPending: boolean;
}

/** What the scheduler reports, once per flush: never per event, which would cost on the hot path. */
export interface FlushMetrics {
  messagesOut: { inc(value: number): void };
  bytesOut: { inc(value: number): void };
  /** Seconds. */
  flushDuration: { observe(value: number): void };
  /** Seconds the oldest item of each flush waited, from queued to written. */
  deliveryLatency: { observe(value: number): void };
}

/** Clock and timers; tests pass their own to step through a schedule. */
export interface FlushTimers {
  /** Milliseconds, sub-millisecond resolution. */
  now(): number;
  /** After every I/O callback already due has run (setImmediate). */
  afterIo(run: () => void): void;
  later(run: () => void, ms: number): void;
}

const realTimers: FlushTimers = {
  now: () => performance.now(),
  afterIo: (run) => setImmediate(run),
  later: (run, ms) => setTimeout(run, ms),
};

/**
 * Decides when waiting clients are flushed. A flush runs once the loop has handled every I/O
 * callback already due, so whatever arrived while the previous flush was writing goes out in
 * one batch per client: the batch size follows the load, and nothing waits on a timer. With
 * `maxDelayMs` > 0, flushes are also spaced that far apart (start to start), trading up to that
 * much latency for fewer, larger writes.
 */
export class FlushScheduler<T extends Flushable> {
  /**
   * The clients waiting for the coming flush, in the order marked, and the list the flush
   * under way reads. Two lists reused turn about with a mark on each client, not a Set: a Set
   * emptied every flush grows its table again, entry by entry, with every flush.
   */
  private waiting: (T | undefined)[] = [];
  private waitingCount = 0;
  private reading: (T | undefined)[] = [];
  private readonly frames = new FrameCache();
  private position = 0;
  private scheduled = false;
  private lastStart = -Infinity;
  private oldestAt = 0;

  constructor(
    private readonly maxDelayMs: number,
    private readonly metrics: FlushMetrics,
    private readonly timers: FlushTimers = realTimers,
  ) {}

  /**
   * The next position in the coming flush: shared items get consecutive ones, so clients
   * holding the same run of them share one encoded frame.
   */
  nextPosition(): number {
    return this.position++;
  }

  /** Has `client` flushed with the next batch. */
  markDirty(client: T): void {
    if (!client.flushPending) {
      client.flushPending = true;
      this.waiting[this.waitingCount++] = client;
    }
    this.schedule();
  }

  /** Sets the next flush going, unless one already is. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const now = this.timers.now();
    this.oldestAt = now;
    const wait = this.lastStart + this.maxDelayMs - now;
    // A client marked by a flush itself also waits for the next turn: a flush never feeds
    // itself in one turn, which would starve every socket's I/O.
    if (wait >= 1) this.timers.later(this.flush, wait);
    else this.timers.afterIo(this.flush);
  }

  /** Drops a client that went away before its flush: the flush passes over its place. */
  forget(client: T): void {
    client.flushPending = false;
  }

  /** Flushes every waiting client now (shutdown); a flush already scheduled then finds little to do. */
  flushNow(): void {
    this.flush();
  }

  private readonly flush = (): void => {
    const started = this.timers.now();
    this.scheduled = false;
    this.lastStart = started;
    const sent: FlushTally = { messages: 0, bytes: 0 };
    const clients = this.waiting;
    const count = this.waitingCount;
    this.waiting = this.reading;
    this.waitingCount = 0;
    this.reading = clients;
    const oldestAt = this.oldestAt;
    let flushed = 0;
    let i = 0;
    try {
      for (; i < count; i++) {
        const c = clients[i]!;
        // Read places are emptied, so the list keeps nobody who went away.
        clients[i] = undefined;
        if (!c.flushPending) continue;
        c.flushPending = false;
        flushed++;
        c.flush(this.frames, sent);
      }
    } finally {
      this.frames.clear();
      this.position = 0;
      // Should a client's flush throw, those after it wait for the next flush, marked as they were.
      for (i++; i < count; i++) {
        const c = clients[i]!;
        clients[i] = undefined;
        if (c.flushPending) this.waiting[this.waitingCount++] = c;
      }
      if (this.waitingCount > 0) this.schedule();
    }
    if (flushed === 0) return;
    const ended = this.timers.now();
    this.metrics.messagesOut.inc(sent.messages);
    this.metrics.bytesOut.inc(sent.bytes);
    this.metrics.flushDuration.observe((ended - started) / 1000);
    this.metrics.deliveryLatency.observe((ended - oldestAt) / 1000);
  };
}
