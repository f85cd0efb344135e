import { defer, filter, map, type Observable, type OperatorFunction } from 'rxjs';
import type { QuoteValues } from '../protocol/messages.ts';
import { QUOTE_FIELDS, quoteValues, type QuoteChange } from './changes.ts';
import type { DayQuote } from '../bars/day-fields.ts';

/**
 * The fields of `next` that differ from `prev` (all of them for a new symbol), or null when
 * nothing changed.
 */
export const quoteDelta = <V extends Partial<QuoteValues>>(
  prev: V | undefined,
  next: V,
): Partial<V> | null => {
  const delta: Partial<V> = {};
  let changed = false;
  for (const field of QUOTE_FIELDS) {
    if (prev === undefined || prev[field] !== next[field]) {
      (delta as Record<string, unknown>)[field] = next[field];
      changed = true;
    }
  }
  return changed ? delta : null;
};

/**
 * Diffs each quote against the symbol's prior value: a new symbol yields every field, a
 * changed one only what changed, an unchanged one nothing. `seed` holds the values already
 * published (after a restart), so they are not announced again.
 */
export const diffQuotes =
  (seed: ReadonlyMap<string, QuoteValues> = new Map()): OperatorFunction<DayQuote, QuoteChange> =>
  (quotes: Observable<DayQuote>) =>
    defer(() => {
      // One state per subscription: the map is the scan state, created fresh for each subscriber.
      const last = new Map(seed);
      return quotes.pipe(
        map((q): QuoteChange | null => {
          const next = quoteValues(q);
          const fields = quoteDelta(last.get(q.symbol), next);
          if (!fields) return null;
          last.set(q.symbol, next);
          return { type: 'quote', symbol: q.symbol, ts: q.ts, fields };
        }),
        filter((c): c is QuoteChange => c !== null),
      );
    });
