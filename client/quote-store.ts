import { QUOTE_FIELDS, type Quote, type QuoteField, type QuoteMessage } from './protocol/index.ts';

/** What applying one delta did to the store. */
export type DeltaResult =
  | { type: 'applied'; quote: Quote; previous: Quote | undefined; changed: QuoteField[] }
  /** The store already holds this version or a later one. */
  | { type: 'stale' }
  /** A delta for a symbol the store has no base for, and not a whole quote: state is unknown. */
  | { type: 'gap' };

/** Whole quotes by symbol, kept exact by applying snapshots and deltas in order. */
export class QuoteStore {
  private readonly quotes = new Map<string, Quote>();

  /** The whole quote of `symbol`, if held. */
  get(symbol: string): Quote | undefined {
    return this.quotes.get(symbol);
  }

  /** Every quote held, in symbol order. */
  all(): Quote[] {
    return [...this.quotes.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  }

  get size(): number {
    return this.quotes.size;
  }

  /** Drops everything and holds exactly `quotes` (a snapshot after history was lost). */
  replace(quotes: readonly Quote[]): void {
    this.quotes.clear();
    this.merge(quotes);
  }

  /** Sets the given quotes, keeping the others (a snapshot of newly subscribed symbols). */
  merge(quotes: readonly Quote[]): void {
    for (const q of quotes) this.quotes.set(q.symbol, { ...q });
  }

  /** Forgets the given symbols, or all of them. */
  delete(symbols?: readonly string[]): void {
    if (symbols === undefined) this.quotes.clear();
    else for (const s of symbols) this.quotes.delete(s);
  }

  /**
   * Applies a delta. Versions may skip (the server conflates), because a delta holds every
   * field changed since the last version this client received.
   */
  apply(delta: QuoteMessage): DeltaResult {
    const previous = this.quotes.get(delta.symbol);
    if (previous && delta.v <= previous.v) return { type: 'stale' };
    const changed = QUOTE_FIELDS.filter((f) => delta[f] !== undefined);
    if (!previous && changed.length < QUOTE_FIELDS.length) return { type: 'gap' };
    const { type: _type, seq: _seq, ...fields } = delta;
    const quote = { ...previous, ...fields } as Quote;
    this.quotes.set(quote.symbol, quote);
    return { type: 'applied', quote, previous, changed };
  }
}
