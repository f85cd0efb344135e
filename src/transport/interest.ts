import type { Interest } from '../hub/hub.ts';
import { PrefixLengths } from './prefix-lengths.ts';

/** Index key of every quote: a subscription without `symbols`. */
export const ALL_KEY = '*';

/**
 * The index key of one requested symbol: `=AIRLINK` for a name, `^OGDC` for the prefix
 * pattern `OGDC*`, `*` for a lone `*`.
 */
export const keyOf = (symbol: string): string =>
  symbol === '*' ? ALL_KEY : symbol.endsWith('*') ? `^${symbol.slice(0, -1)}` : `=${symbol}`;

/**
 * One connection's subscriptions, merged across its subscribe requests: quote keys (all,
 * names, prefixes), each with the `maxRate` it was asked with, and the headlines flag.
 */
export class ConnectionInterest implements Interest {
  /** Quote keys to their maxRate; undefined means every update. */
  private readonly rates = new Map<string, number | undefined>();
  // Made on the first prefix pattern: most clients name none, and idle memory per connection counts.
  private patterns: PrefixLengths | undefined;
  wantsHeadlines = false;

  private get prefixes(): PrefixLengths {
    return (this.patterns ??= new PrefixLengths());
  }

  /** Adds symbols (names or `PREFIX*`), or every symbol when `symbols` is undefined. */
  addQuotes(symbols: readonly string[] | undefined, maxRate?: number): void {
    for (const key of symbols ? symbols.map(keyOf) : [ALL_KEY]) {
      // The most generous rate wins when subscriptions overlap: nobody gets less than asked.
      const had = this.rates.get(key);
      const merged = !this.rates.has(key)
        ? maxRate
        : had === undefined || maxRate === undefined
          ? undefined
          : Math.max(had, maxRate);
      if (key[0] === '^' && !this.rates.has(key)) this.prefixes.add(key.slice(1));
      this.rates.set(key, merged);
    }
  }

  /** Removes symbols, or the whole quotes subscription when `symbols` is undefined. */
  removeQuotes(symbols: readonly string[] | undefined): void {
    if (symbols === undefined) {
      this.rates.clear();
      this.patterns = undefined;
      return;
    }
    for (const key of symbols.map(keyOf))
      if (this.rates.delete(key) && key[0] === '^') this.patterns?.delete(key.slice(1));
  }

  wantsQuote(symbol: string): boolean {
    return (
      this.rates.has(ALL_KEY) ||
      this.rates.has(`=${symbol}`) ||
      (this.patterns?.some(symbol, (prefix) => this.rates.has(`^${prefix}`)) ?? false)
    );
  }

  /** The update rate limit for `symbol`: the most generous of the subscriptions covering it. */
  rateFor(symbol: string): number | undefined {
    let rate: number | undefined;
    let covered = false;
    // Returns true (stop) once a covering subscription has no limit: nothing is more generous.
    const cover = (key: string): boolean => {
      if (!this.rates.has(key)) return false;
      const r = this.rates.get(key);
      if (r === undefined) return true;
      rate = covered ? Math.max(rate!, r) : r;
      covered = true;
      return false;
    };
    const unlimited =
      cover(ALL_KEY) ||
      cover(`=${symbol}`) ||
      (this.patterns?.some(symbol, (prefix) => cover(`^${prefix}`)) ?? false);
    return unlimited ? undefined : rate;
  }

  /** The quote keys held, for the server's symbol → subscribers index. */
  quoteKeys(): string[] {
    return [...this.rates.keys()];
  }

  /** How many names and patterns the quote subscriptions hold (`too_many_symbols` counts these). */
  get symbolCount(): number {
    return this.rates.size - (this.rates.has(ALL_KEY) ? 1 : 0);
  }

  /** How many symbols would be held after adding `symbols`. */
  countAfterAdding(symbols: readonly string[]): number {
    const keys = new Set(this.rates.keys());
    for (const s of symbols) keys.add(keyOf(s));
    return keys.size - (keys.has(ALL_KEY) ? 1 : 0);
  }
}
