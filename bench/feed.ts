import { asyncScheduler, filter, interval, map, takeWhile, type Observable, type SchedulerLike } from 'rxjs';
import type { Direction } from '../src/protocol/messages.ts';

/** How many symbols the generated feed holds: about the size of the PSX list. */
export const SYMBOL_COUNT = 500;

/** The generated symbols, `T000`…`T0DV`: valid tickers that no real index uses. */
export const SYMBOLS: readonly string[] = Array.from(
  { length: SYMBOL_COUNT },
  (_, i) => `T${i.toString(36).toUpperCase().padStart(3, '0')}`,
);

/** One generated quote change: the new values of one symbol. */
export interface GeneratedQuote {
  symbol: string;
  price: number;
  change: number;
  changePercent: number;
  direction: Direction;
}

/** A small seeded PRNG (mulberry32), so every server in a run sees the same feed and subscriptions. */
export const prng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** The symbol index of the feed's `k`th change: a stride coprime to 500 visits all in turn. */
export const symbolOf = (k: number): number => (k * 211) % SYMBOL_COUNT;

/** How many of the feed's first `count` changes each symbol gets. */
export const changesPerSymbol = (count: number): number[] => {
  const per = new Array<number>(SYMBOL_COUNT).fill(0);
  for (let k = 0; k < count; k++) per[symbolOf(k)]!++;
  return per;
};

/**
 * The feed's state: each call to `next()` moves one symbol's price by a few cents, so every
 * change is a real change for a diff. A burst of up to 500 changes touches 500 different symbols.
 */
export class QuoteGenerator {
  private readonly closeCents: number[];
  private readonly priceCents: number[];
  private readonly random: () => number;
  private k = 0;

  constructor(seed = 1) {
    this.random = prng(seed);
    this.closeCents = SYMBOLS.map(() => 1000 + Math.floor(this.random() * 20_000));
    this.priceCents = [...this.closeCents];
  }

  /** The current value of every symbol, as full quotes (the feed's first frame). */
  all(): GeneratedQuote[] {
    return SYMBOLS.map((_, i) => this.quote(i));
  }

  /** The next change. */
  next(): GeneratedQuote {
    const index = symbolOf(this.k++);
    const close = this.closeCents[index]!;
    let price = this.priceCents[index]!;
    do price += Math.floor(this.random() * 11) - 5;
    while (price === this.priceCents[index] || price === close || price <= 0);
    this.priceCents[index] = price;
    return this.quote(index);
  }

  private quote(index: number): GeneratedQuote {
    const close = this.closeCents[index]!;
    const cents = this.priceCents[index]!;
    const changeCents = cents - close;
    return {
      symbol: SYMBOLS[index]!,
      price: cents / 100,
      change: changeCents / 100,
      changePercent: Math.round((changeCents / close) * 10_000) / 100,
      direction: changeCents > 0 ? 'up' : changeCents < 0 ? 'down' : 'unchanged',
    };
  }
}

/** A generated quote as the PSX ticker prints it, the text tickstream's parser reads. */
export const tickerLine = (q: GeneratedQuote): string =>
  q.direction === 'unchanged'
    ? `${q.symbol} ${q.price.toFixed(2)} No Change 0.00 (0%)`
    : `${q.symbol} ${q.price.toFixed(2)} ${q.direction === 'up' ? 'Increased By ▲' : 'Decreased By ▼'} ${q.change.toFixed(2)} (${q.changePercent}%)`;

/** The spacing of feed bursts: 10 ms when busy, one change per burst when slow. */
export const tickMs = (ratePerSecond: number): number => Math.max(10, Math.min(1000, 1000 / ratePerSecond));

/** The most a burst may catch up, in feed time: a stalled server is offered more, not all at once. */
const MAX_BURST_MS = 100;

/**
 * `ratePerSecond` changes a second for `durationMs`, in bursts every `tickMs`. A late timer (a
 * busy server) gets the changes due since, up to MAX_BURST_MS of them, so the offered rate holds
 * while the server keeps up, and a saturated server falls behind instead of blocking on one
 * huge burst (the orchestrator's deadline ends such a run).
 */
export const changeBursts = (
  generator: QuoteGenerator,
  ratePerSecond: number,
  durationMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<GeneratedQuote[]> => {
  const start = scheduler.now();
  const total = Math.round((ratePerSecond * durationMs) / 1000);
  const maxBurst = Math.max(1, Math.round((ratePerSecond * MAX_BURST_MS) / 1000));
  let emitted = 0;
  return interval(tickMs(ratePerSecond), scheduler).pipe(
    takeWhile(() => emitted < total),
    map(() => {
      const due = Math.min(total, Math.floor(((scheduler.now() - start) * ratePerSecond) / 1000));
      const burst: GeneratedQuote[] = [];
      for (const end = Math.min(due, emitted + maxBurst); emitted < end; emitted++)
        burst.push(generator.next());
      return burst;
    }),
    filter((burst) => burst.length > 0),
  );
};
