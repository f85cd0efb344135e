import { prng, SYMBOL_COUNT } from './feed.ts';

/** One benchmark workload: who subscribes to what, how fast the feed moves, for how long. */
export interface Workload {
  subscribers: number;
  /** Each subscriber takes every symbol, or this many random ones. */
  symbols: 'all' | number;
  /** Quote changes per second. */
  rate: number;
  durationMs: number;
  /** Fraction of subscribers that stop reading once subscribed (slow consumers). */
  stalled: number;
  seed: number;
}

/** Symbol indices client `i` subscribes to (undefined: all of them); the same for every server. */
export const clientSymbols = (w: Workload, i: number): number[] | undefined => {
  if (w.symbols === 'all') return undefined;
  const random = prng(w.seed * 1_000_003 + i);
  const picked = new Set<number>();
  while (picked.size < Math.min(w.symbols, SYMBOL_COUNT)) picked.add(Math.floor(random() * SYMBOL_COUNT));
  return [...picked];
};

/** Whether client `i` is one of the stalled ones: spread evenly, none when `stalled` is 0. */
export const isStalled = (w: Workload, i: number): boolean =>
  w.stalled > 0 && i % Math.round(1 / w.stalled) === Math.round(1 / w.stalled) - 1;
