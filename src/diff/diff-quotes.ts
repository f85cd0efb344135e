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
  // Made on the first difference: most quotes of a frame have none.
  let delta: Record<string, unknown> | null = null;
  for (const field of QUOTE_FIELDS)
    if (prev === undefined || prev[field] !== next[field]) (delta ??= {})[field] = next[field];
  return delta as Partial<V> | null;
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
      // One state per subscription, created fresh for each subscriber. Each symbol's values are
      // revised in place: most quotes of a frame are unchanged and compared without a copy, and
      // a new object per change would live until the symbol's next change, long enough to be
      // promoted to the old generation.
      const last = new Map([...seed].map(([symbol, values]) => [symbol, quoteValues(values)]));
      return quotes.pipe(
        map((q): QuoteChange | null => {
          const held = last.get(q.symbol);
          const fields = quoteDelta(held, q);
          if (!fields) return null;
          if (held) Object.assign(held, fields);
          else last.set(q.symbol, quoteValues(q));
          return { type: 'quote', symbol: q.symbol, ts: q.ts, fields };
        }),
        filter((c): c is QuoteChange => c !== null),
      );
    });
