import { FrameCache, runKey, type FrameKey, type Outgoing, type Sink } from './sink.ts';

/** The `alone` key prefix of the full quotes snapshot (see `SnapshotCache`). */
export const FULL_SNAPSHOT = 'snapshot:';

/** Frames written outside a flush share nothing. */
const UNSHARED = new FrameCache();

/**
 * What an empty queue holds: one frozen array for every queue, so emptying one allocates
 * nothing, and the first item after it makes an array of exactly one. Most clients of a busy
 * feed get one item a flush, and a fresh `[]` grown by a push costs several times that.
 */
const NOTHING: Outgoing[] = Object.freeze([]) as unknown as Outgoing[];

/** What flushes sent, added up over one flush of every waiting client. */
export interface FlushTally {
  messages: number;
  bytes: number;
}

/**
 * What one client is owed until the next flush, in order. What is queued between two flushes
 * leaves as one frame; while the queue is one contiguous run of the same flush's shared items,
 * clients with the same run share one encoded frame, found by a numeric key.
 */
export class SendQueue {
  private items: Outgoing[] = NOTHING;
  /** Bytes of JSON queued (the sink's own buffer is not counted here). */
  bytes = 0;
  private runFirst = 0;
  private runLast = 0;
  private runShared = false;
  private holdsAlone = false;

  get length(): number {
    return this.items.length;
  }

  /** The items queued, oldest first. */
  get queued(): readonly Outgoing[] {
    return this.items;
  }

  /** Appends an item; returns true when the queue was empty (the client now needs a flush). */
  push(item: Outgoing): boolean {
    const wasEmpty = this.items.length === 0;
    const tick = item.tick;
    if (wasEmpty) {
      this.runShared = tick !== undefined;
      this.runFirst = tick ?? 0;
    } else this.runShared &&= tick === this.runLast + 1;
    this.runLast = tick ?? 0;
    if (item.alone?.startsWith(FULL_SNAPSHOT) && this.holdsAlone) this.coalesceSnapshots();
    if (item.alone !== undefined) this.holdsAlone = true;
    if (this.items.length === 0) this.items = [item];
    else this.items.push(item);
    this.bytes += item.json.length;
    return wasEmpty;
  }

  /** Replaces what is queued (conflation rewrites it); the result no longer shares frames. */
  replace(items: Outgoing[]): void {
    this.items = items;
    this.bytes = items.reduce((n, o) => n + o.json.length, 0);
    this.runShared = false;
    this.holdsAlone = items.some((o) => o.alone !== undefined);
  }

  /** Forgets everything queued. */
  clear(): void {
    this.items = NOTHING;
    this.bytes = 0;
    this.holdsAlone = false;
  }

  /** Writes what is queued as one frame shared with nobody (outside a flush) and empties the queue. */
  writeUnshared(sink: Sink): void {
    if (this.items.length > 0) sink.write(this.items, UNSHARED, undefined);
    this.clear();
  }

  /** Writes what is queued to `sink` and empties the queue; adds what it sent to `sent`. */
  writeTo(sink: Sink, frames: FrameCache, sent: FlushTally): void {
    if (this.items.length === 0) return;
    const batch = this.items;
    const key: FrameKey | undefined = this.runShared ? runKey(this.runFirst, batch.length) : undefined;
    const holdsAlone = this.holdsAlone;
    this.clear();
    if (!holdsAlone) {
      sent.messages += batch.length;
      sent.bytes += sink.write(batch, frames, key);
      return;
    }
    // A shared large message leaves as its own frame, framed once for every client that gets it;
    // what comes before and after it stays in order, in frames of its own.
    let pending: Outgoing[] = [];
    for (const item of batch) {
      sent.messages += item.count ?? 1;
      if (item.alone === undefined) {
        pending.push(item);
        continue;
      }
      if (pending.length > 0) sent.bytes += sink.write(pending, frames, undefined);
      pending = [];
      sent.bytes += sink.write([item], frames, item.alone);
    }
    if (pending.length > 0) sent.bytes += sink.write(pending, frames, undefined);
  }

  /**
   * A full snapshot about to be queued makes an older one still queued useless, and the quote
   * deltas after it too (the new one holds every symbol at a later seq): a client that keeps
   * resubscribing while not reading gets one snapshot, not one per request.
   */
  private coalesceSnapshots(): void {
    const at = this.items.findIndex((o) => o.alone?.startsWith(FULL_SNAPSHOT));
    if (at < 0) return;
    const kept = this.items.filter((o, i) => i < at || (i > at && o.message?.type !== 'quote'));
    this.items = kept;
    this.bytes = kept.reduce((n, o) => n + o.json.length, 0);
    this.runShared = false;
  }
}
