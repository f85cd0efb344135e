import type { HeadlineMessage, HubMessage, QuoteMessage } from '../protocol/messages.ts';
import { eventJson, parseEvent } from './event-json.ts';

/** How far back history reaches. */
export interface HistoryLimits {
  /** How many events to keep at most. */
  size: number;
  /** How long (ms) to keep an event, by the hub-clock time it was added. */
  ageMs: number;
}

/** The events history holds: what resume replays (bars live in the bar store). */
export type HeldMessage = QuoteMessage | HeadlineMessage;

/** One held event and the hub-clock time (ms) it was recorded at. */
export interface HistoryEntry {
  message: HeldMessage;
  at: number;
}

/**
 * The held events as the JSON they are held as, undecoded, with their seqs and times: for a
 * writer that copies them out (the state file) over several turns. It keeps the chunks it
 * points into, which history no longer reuses, so it stays valid as history moves on.
 */
export class HeldTexts {
  constructor(
    private readonly chunks: readonly Buffer[],
    private readonly chunkOf: Uint32Array,
    private readonly offsets: Uint32Array,
    /** Each event's JSON length in bytes. */
    readonly lengths: Uint32Array,
    readonly seqs: Float64Array,
    readonly ats: Float64Array,
  ) {}

  get length(): number {
    return this.seqs.length;
  }

  /** Event `k`'s JSON, a view of the bytes history holds (not a copy). */
  text(k: number): Buffer {
    const start = this.offsets[k]!;
    return this.chunks[this.chunkOf[k]!]!.subarray(start, start + this.lengths[k]!);
  }

  /** Copies event `k`'s JSON into `target` at `at`; returns the bytes copied. */
  copy(k: number, target: Buffer, at: number): number {
    const start = this.offsets[k]!;
    return this.chunks[this.chunkOf[k]!]!.copy(target, at, start, start + this.lengths[k]!);
  }
}

/** Which held events a reader wants (a subscriber's interest). */
export interface HistoryFilter {
  wantsQuote(symbol: string): boolean;
  readonly wantsHeadlines: boolean;
}

// Sized so that a chunk's end wastes little and a small history (a test's, a scratch hub's)
// does not reserve much.
const CHUNK_BYTES = 256 * 1024;
const FIRST_SLOTS = 1024;
/** The symbol id of a headline. */
const HEADLINE = -1;

/**
 * The recent quote and headline events, in seq order, bounded by count and age, for clients
 * that resume. Events are held as their JSON bytes in a ring of off-heap chunks with an index
 * in typed arrays (seq, time, where the bytes are, symbol), so holding them adds nothing to the
 * V8 heap per event: a full history no longer fills the old generation for a major GC to sweep.
 * Reading decodes only the events a filter keeps. Seqs increase but need not be consecutive
 * (bars events are not held); `reach` says from which seq on the history is complete.
 */
export class History {
  private slots = 0;
  private seqs = new Float64Array(0);
  private ats = new Float64Array(0);
  private chunkIds = new Uint32Array(0);
  private offsets = new Uint32Array(0);
  private lengths = new Uint32Array(0);
  private symbolIds = new Int32Array(0);
  private head = 0;
  private count = 0;
  /** Chunks in write order; `chunks[0]` has id `firstChunk`. */
  private chunks: Buffer[] = [];
  private firstChunk = 0;
  private used = 0;
  private spare: Buffer | undefined;
  /** The last chunk a `HeldTexts` may point into: none up to it is reused. */
  private pinned = -1;
  // As many as the feed has symbols, like the hub's own quotes.
  private readonly symbolIdOf = new Map<string, number>();
  private readonly symbols: string[] = [];
  private reachSeq = 0;

  constructor(private readonly limits: HistoryLimits) {}

  /** Appends an event recorded at `at` (serializing it, once for everyone), then evicts what `at` puts past the bounds. */
  add(message: HeldMessage, at: number): void {
    const text = eventJson(message);
    if (this.count === this.slots) this.grow();
    const i = (this.head + this.count) & (this.slots - 1);
    this.seqs[i] = message.seq;
    this.ats[i] = at;
    this.symbolIds[i] = message.type === 'quote' ? this.symbolId(message.symbol) : HEADLINE;
    this.write(text, i);
    this.count++;
    this.evict(at);
  }

  /** Drops what is past the bounds; call with the current time. */
  evict(now: number): void {
    const oldest = now - this.limits.ageMs;
    while (this.count > this.limits.size || (this.count > 0 && this.ats[this.head]! < oldest)) {
      this.reachSeq = this.seqs[this.head]!;
      this.head = (this.head + 1) & (this.slots - 1);
      this.count--;
    }
    const firstHeld = this.count > 0 ? this.chunkIds[this.head]! : this.firstChunk + this.chunks.length - 1;
    while (this.firstChunk < firstHeld) {
      const chunk = this.chunks.shift()!;
      if (chunk.length === CHUNK_BYTES && this.firstChunk > this.pinned) this.spare = chunk;
      this.firstChunk++;
    }
  }

  /** Forgets every event: resume cannot reach across a gap in seq, so it is complete only after `reach`. */
  clear(reach: number): void {
    this.head = 0;
    this.count = 0;
    this.chunks = [];
    this.used = 0;
    this.reachSeq = reach;
  }

  get length(): number {
    return this.count;
  }

  /**
   * The lowest position a resume can start from: every quote and headline with a greater seq is
   * held (the seq of the last event evicted, or where history started).
   */
  get reach(): number {
    return this.reachSeq;
  }

  /** Events with seq greater than `seq` that `filter` wants, oldest first; only those are decoded. */
  after(seq: number, filter: HistoryFilter = ALL): HeldMessage[] {
    const out: HeldMessage[] = [];
    // Each symbol is matched once: a feed repeats few symbols many times.
    const wanted = new Int8Array(this.symbols.length);
    for (let k = this.firstAfter(seq); k < this.count; k++) {
      const i = (this.head + k) & (this.slots - 1);
      const id = this.symbolIds[i]!;
      if (id === HEADLINE) {
        if (!filter.wantsHeadlines) continue;
      } else {
        if (wanted[id] === 0) wanted[id] = filter.wantsQuote(this.symbols[id]!) ? 1 : -1;
        if (wanted[id]! < 0) continue;
      }
      out.push(parseEvent<HeldMessage>(this.text(i)));
    }
    return out;
  }

  /**
   * Every event held with its time, oldest first. Their text is not kept on them: this runs in
   * one go for a whole history (a compaction), and a writer of it goes piece by piece anyway.
   */
  all(): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & (this.slots - 1);
      out.push({ message: JSON.parse(this.text(i)) as HeldMessage, at: this.ats[i]! });
    }
    return out;
  }

  /** Every event held as its JSON bytes, in one turn without copying or decoding any (see `HeldTexts`). */
  texts(): HeldTexts {
    const n = this.count;
    const at = <T extends Float64Array | Uint32Array>(from: T, to: T): T => {
      for (let k = 0; k < n; k++) to[k] = from[(this.head + k) & (this.slots - 1)]!;
      return to;
    };
    const chunkOf = at(this.chunkIds, new Uint32Array(n));
    for (let k = 0; k < n; k++) chunkOf[k] = chunkOf[k]! - this.firstChunk;
    // Bytes once written never change, but a chunk evicted may be written over as the spare.
    this.pinned = this.firstChunk + this.chunks.length - 1;
    return new HeldTexts(
      [...this.chunks],
      chunkOf,
      at(this.offsets, new Uint32Array(n)),
      at(this.lengths, new Uint32Array(n)),
      at(this.seqs, new Float64Array(n)),
      at(this.ats, new Float64Array(n)),
    );
  }

  /** The first position (0 … count) whose seq is greater than `seq`. */
  private firstAfter(seq: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[(this.head + mid) & (this.slots - 1)]! > seq) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private text(i: number): string {
    const chunk = this.chunks[this.chunkIds[i]! - this.firstChunk]!;
    const start = this.offsets[i]!;
    return chunk.toString('utf8', start, start + this.lengths[i]!);
  }

  private write(text: string, i: number): void {
    let chunk = this.chunks.at(-1);
    // UTF-8 takes at most 3 bytes per UTF-16 unit: the exact length is needed only near the end.
    if (chunk === undefined || this.used + text.length * 3 > chunk.length) {
      const bytes = Buffer.byteLength(text);
      if (chunk === undefined || this.used + bytes > chunk.length) chunk = this.newChunk(bytes);
    }
    const written = chunk.write(text, this.used);
    this.chunkIds[i] = this.firstChunk + this.chunks.length - 1;
    this.offsets[i] = this.used;
    this.lengths[i] = written;
    this.used += written;
  }

  private newChunk(bytes: number): Buffer {
    let chunk: Buffer;
    if (bytes <= CHUNK_BYTES && this.spare) {
      chunk = this.spare;
      this.spare = undefined;
    } else chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, bytes));
    this.chunks.push(chunk);
    this.used = 0;
    return chunk;
  }

  /** Doubles the index, laying the ring out from slot 0. */
  private grow(): void {
    const slots = Math.max(FIRST_SLOTS, this.slots * 2);
    const lay = <T extends Float64Array | Uint32Array | Int32Array>(from: T, to: T): T => {
      for (let k = 0; k < this.count; k++) to[k] = from[(this.head + k) & (this.slots - 1)]!;
      return to;
    };
    this.seqs = lay(this.seqs, new Float64Array(slots));
    this.ats = lay(this.ats, new Float64Array(slots));
    this.chunkIds = lay(this.chunkIds, new Uint32Array(slots));
    this.offsets = lay(this.offsets, new Uint32Array(slots));
    this.lengths = lay(this.lengths, new Uint32Array(slots));
    this.symbolIds = lay(this.symbolIds, new Int32Array(slots));
    this.slots = slots;
    this.head = 0;
  }

  private symbolId(symbol: string): number {
    let id = this.symbolIdOf.get(symbol);
    if (id === undefined) {
      this.symbolIdOf.set(symbol, (id = this.symbols.length));
      this.symbols.push(symbol);
    }
    return id;
  }
}

const ALL: HistoryFilter = { wantsQuote: () => true, wantsHeadlines: true };

/** Events added per step of {@link historySteps}: a few milliseconds of the loop. */
const EVENTS_PER_STEP = 5000;

/** What a saved state holds of history (see `HubState`). */
export interface SavedHistory {
  seq: number;
  /** Its events, oldest first (bars events among them are not held). */
  history: readonly HubMessage[];
  /** When each was recorded; absent: `now`. */
  historyAt?: readonly number[];
}

/**
 * A history holding a saved state's events, complete from the event before its first (what came
 * before is not held). Yields every few thousand events (see steps.ts): a full history is
 * 100,000 events to serialize.
 */
export function* historySteps(
  limits: HistoryLimits,
  saved: SavedHistory,
  now: number,
): Generator<void, History> {
  const history = new History(limits);
  const { history: events, historyAt } = saved;
  history.clear((events[0]?.seq ?? saved.seq + 1) - 1);
  for (let i = 0; i < events.length; i++) {
    const m = events[i]!;
    if (m.type !== 'bars') history.add(m, historyAt?.[i] ?? now);
    if (i % EVENTS_PER_STEP === EVENTS_PER_STEP - 1) yield;
  }
  return history;
}
