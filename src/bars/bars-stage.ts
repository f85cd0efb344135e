import { defer, EMPTY, merge, mergeMap, Observable, type OperatorFunction } from 'rxjs';
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

/** The quote-change side of the stage: folds each quote into the book and says what changed. */
class QuoteFolder {
  // A frame's quotes share one `ts` string: it is parsed once per frame.
  private lastTs = '';
  private lastMs = NaN;

  constructor(private readonly book: BarBook) {}

  /**
   * Emits the changes one quote change makes: the quote, the bars its time closed (one change
   * per symbol), then the symbol's own bars of every interval as one change.
   */
  fold(change: QuoteChange, emit: (change: Change) => void): void {
    emit(change);
    if (change.ts !== this.lastTs) this.lastMs = Date.parse((this.lastTs = change.ts));
    for (const closed of this.book.closeDue(this.lastMs)) emit(barsChange(closed));
    const bars = this.book.quote(change.symbol, change.fields.price, this.lastMs);
    if (bars.length > 0) emit({ type: 'bars', symbol: change.symbol, bars });
  }
}

/**
 * Each value's changes, emitted in order as `fold` makes them: one call per value, where
 * `mergeMap` would subscribe to an inner observable for each of them.
 */
const foldEach =
  <T>(fold: (value: T, emit: (change: Change) => void) => void): OperatorFunction<T, Change> =>
  (source) =>
    new Observable<Change>((subscriber) => {
      const emit = (change: Change) => subscriber.next(change);
      return source.subscribe({
        next: (value) => {
          try {
            fold(value, emit);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });

/**
 * After the diff: folds each quote change into per-symbol OHLC bars of every interval, on the
 * feed's clock (the quote's `ts`), and emits the bars that changed or closed after the quote
 * itself, one change per symbol. Headlines pass through. Bars close when a later quote's time
 * or the clock passes their end, so a replay at any speed yields the same bars.
 */
export const withBars =
  (options: BarsOptions = {}): OperatorFunction<Change, Change> =>
  (changes$) =>
    defer(() => {
      const book = new BarBook(options.intervals, options.seed?.bars, options.seed?.prices);
      const folder = new QuoteFolder(book);
      // The clock is subscribed first: a source that emits at once sets it as it goes.
      return merge(
        (options.clock$ ?? EMPTY).pipe(mergeMap((ms) => book.closeDue(ms).map(barsChange))),
        changes$.pipe(foldEach<Change>((c, emit) => (c.type === 'quote' ? folder.fold(c, emit) : emit(c)))),
      );
    });
