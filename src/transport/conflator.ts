import { mergeDeltas } from '../diff/merge-deltas.ts';
import type { QuoteMessage, ServerMessage } from '../protocol/messages.ts';
import { eventJson } from '../hub/event-json.ts';
import type { Outgoing } from './sink.ts';

/**
 * A slow client's quote deltas, merged per symbol while its socket buffer stays full, so what
 * it is owed stops growing with the feed rate. Made when a client first falls behind.
 */
export class Conflator {
  private readonly held = new Map<string, QuoteMessage>();
  /** Deltas merged into one already held, for the `slow_consumer` notice. */
  private merges = 0;

  /** @param since when the client fell behind (scheduler time), for `--slow-close-after` */
  constructor(
    readonly since: number,
    private readonly onMerge: () => void,
  ) {}

  /** Holds `message`, merged into the delta held for its symbol. */
  add(message: QuoteMessage): void {
    const prev = this.held.get(message.symbol);
    this.held.set(message.symbol, prev ? mergeDeltas(prev, message) : message);
    if (prev) {
      this.merges++;
      this.onMerge();
    }
  }

  /** Moves the quote deltas out of `queued` into the held ones; returns what stays queued. */
  absorb(queued: readonly Outgoing[]): Outgoing[] {
    const kept: Outgoing[] = [];
    for (const item of queued) {
      if (item.message?.type === 'quote') this.add(item.message);
      else kept.push(item);
    }
    return kept;
  }

  /**
   * What the client gets once it caught up: a `slow_consumer` notice, what stayed queued in
   * order, then the merged deltas in seq order, so a snapshot queued meanwhile (an older state)
   * can never land after them. A symbol no longer wanted (unsubscribed meanwhile) is dropped.
   */
  release(queued: readonly Outgoing[], wants: (symbol: string) => boolean): Outgoing[] {
    const merged = [...this.held.values()]
      .filter((m) => wants(m.symbol))
      .sort((a, b) => a.seq - b.seq)
      .map((message): Outgoing => ({ json: eventJson(message), message }));
    const notice: ServerMessage = {
      type: 'notice',
      code: 'slow_consumer',
      policy: 'conflate',
      conflated: this.merges,
    };
    return [{ json: JSON.stringify(notice) }, ...queued, ...merged];
  }

  /** How many deltas were merged away so far. */
  get conflated(): number {
    return this.merges;
  }
}
