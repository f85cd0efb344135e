import type { SchedulerLike, Subscription } from 'rxjs';
import { mergeDeltas } from '../diff/merge-deltas.ts';
import type { QuoteMessage } from '../protocol/messages.ts';

interface SymbolGate {
  lastSentAt: number;
  held?: QuoteMessage;
  timer?: Subscription;
}

/**
 * Per-symbol `maxRate`: a delta that comes sooner than 1/rate after the last one sent is held
 * and merged with later ones (never dropped), then released when the interval is up.
 * Time comes from an RxJS scheduler so tests run it in virtual time.
 */
export class Throttle {
  private readonly gates = new Map<string, SymbolGate>();

  constructor(
    private readonly scheduler: SchedulerLike,
    /** Receives a held (merged) delta when its interval is up. */
    private readonly release: (message: QuoteMessage) => void,
    /** Told each time a delta is merged into a held one. */
    private readonly onMerge: () => void = () => {},
  ) {}

  /**
   * Offers a delta: returns the message to send now (possibly merged with a held one),
   * or undefined when it is held for later.
   */
  offer(message: QuoteMessage, maxRate: number | undefined): QuoteMessage | undefined {
    const now = this.scheduler.now();
    let gate = this.gates.get(message.symbol);
    if (maxRate === undefined) {
      if (!gate?.held) return message;
      // The rate limit went away while a delta waited: send both as one.
      const merged = mergeDeltas(gate.held, message);
      this.onMerge();
      this.clear(gate);
      return merged;
    }
    const interval = 1000 / maxRate;
    if (!gate) this.gates.set(message.symbol, (gate = { lastSentAt: -Infinity }));
    if (gate.held) {
      gate.held = mergeDeltas(gate.held, message);
      this.onMerge();
      return undefined;
    }
    if (now - gate.lastSentAt >= interval) {
      gate.lastSentAt = now;
      return message;
    }
    gate.held = message;
    const g = gate;
    gate.timer = this.scheduler.schedule(
      () => {
        const held = g.held;
        this.clear(g);
        g.lastSentAt = this.scheduler.now();
        if (held) this.release(held);
      },
      gate.lastSentAt + interval - now,
    );
    return undefined;
  }

  /** Forgets what is held for `symbol` (after an unsubscribe). */
  forget(symbol: string): void {
    const gate = this.gates.get(symbol);
    if (gate) this.clear(gate);
    this.gates.delete(symbol);
  }

  /** Cancels every timer; held deltas are discarded with the connection. Safe to call twice. */
  dispose(): void {
    for (const gate of this.gates.values()) this.clear(gate);
    this.gates.clear();
  }

  private clear(gate: SymbolGate): void {
    gate.timer?.unsubscribe();
    delete gate.timer;
    delete gate.held;
  }
}
