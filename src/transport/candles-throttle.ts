import type { SchedulerLike, Subscription } from 'rxjs';
import type { CandleMessage } from '../protocol/messages.ts';

interface Gate {
  lastSentAt: number;
  /** Held candles of one symbol and interval, one per bar, in start order. */
  held: CandleMessage[];
  timer?: Subscription;
}

/**
 * Per symbol and interval `maxRate` for candles: a candle sooner than 1/rate after the last
 * one sent is held; a later candle of the same bar replaces it (a candle is the whole bar), one
 * of another bar is held beside it, so a closed bar is never conflated away. What is held goes
 * out when the interval is up.
 */
export class CandleThrottle {
  private readonly gates = new Map<string, Gate>();

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly release: (candles: CandleMessage[]) => void,
    private readonly onMerge: () => void = () => {},
  ) {}

  /** The candles to send now (none while the symbol's interval is not up). */
  offer(candle: CandleMessage, maxRate: number): CandleMessage[] {
    const key = `${candle.symbol} ${candle.interval}`;
    const now = this.scheduler.now();
    let gate = this.gates.get(key);
    if (!gate) this.gates.set(key, (gate = { lastSentAt: -Infinity, held: [] }));
    if (gate.held.length > 0) {
      const last = gate.held.at(-1)!;
      if (last.start === candle.start) {
        gate.held[gate.held.length - 1] = candle;
        this.onMerge();
      } else gate.held.push(candle);
      return [];
    }
    const interval = 1000 / maxRate;
    if (now - gate.lastSentAt >= interval) {
      gate.lastSentAt = now;
      return [candle];
    }
    gate.held.push(candle);
    const g = gate;
    gate.timer = this.scheduler.schedule(
      () => {
        const held = g.held;
        g.held = [];
        delete g.timer;
        g.lastSentAt = this.scheduler.now();
        this.release(held);
      },
      gate.lastSentAt + interval - now,
    );
    return [];
  }

  /** Cancels every timer; held candles go with the connection. Safe to call twice. */
  dispose(): void {
    for (const gate of this.gates.values()) gate.timer?.unsubscribe();
    this.gates.clear();
  }
}
