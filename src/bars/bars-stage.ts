import { defer, EMPTY, merge, mergeMap, type Observable, type OperatorFunction } from 'rxjs';
import type { Bar, BarInterval } from '../protocol/messages.ts';
import type { CandleChange, Change, QuoteChange } from '../diff/changes.ts';
import { BarBook } from './bar-book.ts';

/** Where the bars stage starts and what moves its clock. */
export interface BarsOptions {
  /** The feed's clock between frames (`feedClock`): closes bars no later frame would. */
  clock$?: Observable<number>;
  /** Each symbol's current bars and last price, published before a restart. */
  seed?: { bars: Iterable<Bar>; prices: Iterable<[string, number]> };
  intervals?: readonly BarInterval[];
}

const candle = (bar: Bar): CandleChange => ({ type: 'candle', bar });

/** The bar changes one quote change makes: first the bars its time closed, then its own. */
const foldQuote = (book: BarBook, prices: Map<string, number>, change: QuoteChange): Change[] => {
  const price = change.fields.price ?? prices.get(change.symbol);
  if (price === undefined) return [change];
  prices.set(change.symbol, price);
  const ms = Date.parse(change.ts);
  return [change, ...book.closeDue(ms).map(candle), ...book.quote(change.symbol, price, ms).map(candle)];
};

/**
 * After the diff: folds each quote change into per-symbol OHLC bars of every interval, on the
 * feed's clock (the quote's `ts`), and emits the bars that changed or closed after the quote
 * itself. Headlines pass through. Bars close when a later quote's time or the clock passes
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
        (options.clock$ ?? EMPTY).pipe(mergeMap((ms) => book.closeDue(ms).map(candle))),
        changes$.pipe(mergeMap((c) => (c.type === 'quote' ? foldQuote(book, prices, c) : [c]))),
      );
    });

/** The candle changes alone, as bars. */
export const barsOf = (changes$: Observable<Change>): Observable<Bar> =>
  changes$.pipe(mergeMap((c) => (c.type === 'candle' ? [c.bar] : [])));
