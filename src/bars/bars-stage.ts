import { defer, EMPTY, merge, mergeMap, type Observable, type OperatorFunction } from 'rxjs';
import type { Bar, BarInterval } from '../protocol/messages.ts';
import type { BarsChange, Change, QuoteChange } from '../diff/changes.ts';
import { BarBook, type ClosedBars } from './bar-book.ts';

/** Where the bars stage starts and what moves its clock. */
export interface BarsOptions {
  /** The feed's clock between frames (`feedClock`): closes bars no later frame would. */
  clock$?: Observable<number>;
  /** Each symbol's current bars and last price, published before a restart. */
  seed?: { bars: Iterable<Bar>; prices: Iterable<[string, number]> };
  intervals?: readonly BarInterval[];
}

const barsChange = ({ symbol, bars }: ClosedBars): BarsChange => ({ type: 'bars', symbol, bars });

/**
 * The changes one quote change makes: the quote, the bars its time closed (one change per
 * symbol), then the symbol's own bars of every interval as one change.
 */
const foldQuote = (book: BarBook, prices: Map<string, number>, change: QuoteChange): Change[] => {
  const price = change.fields.price ?? prices.get(change.symbol);
  if (price === undefined) return [change];
  prices.set(change.symbol, price);
  const ms = Date.parse(change.ts);
  const out: Change[] = [change];
  for (const closed of book.closeDue(ms)) out.push(barsChange(closed));
  const bars = book.quote(change.symbol, price, ms);
  if (bars.length > 0) out.push(barsChange({ symbol: change.symbol, bars }));
  return out;
};

/**
 * After the diff: folds each quote change into per-symbol OHLC bars of every interval, on the
 * feed's clock (the quote's `ts`), and emits the bars that changed or closed after the quote
 * itself, one change per symbol. Headlines pass through. Bars close when a later quote's time or the clock passes
 * their end, so a replay at any speed yields the same bars.
 */
export const withBars =
  (options: BarsOptions = {}): OperatorFunction<Change, Change> =>
  (changes$) =>
    defer(() => {
      const book = new BarBook(options.intervals, options.seed?.bars);
      const prices = new Map(options.seed?.prices);
      // The clock is subscribed first: a source that emits at once sets it as it goes.
      return merge(
        (options.clock$ ?? EMPTY).pipe(mergeMap((ms) => book.closeDue(ms).map(barsChange))),
        changes$.pipe(mergeMap((c) => (c.type === 'quote' ? foldQuote(book, prices, c) : [c]))),
      );
    });
