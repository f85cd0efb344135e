import type { Interest } from '../hub/hub.ts';

/** Index key of every quote: a subscription without `symbols`. */
export const ALL_KEY = '*';

/**
 * The index key of one requested symbol: `=AIRLINK` for a name, `^OGDC` for the prefix
 * pattern `OGDC*`, `*` for a lone `*`.
 */
export const keyOf = (symbol: string): string =>
  symbol === '*' ? ALL_KEY : symbol.endsWith('*') ? `^${symbol.slice(0, -1)}` : `=${symbol}`;

/** Whether the index key `key` covers `symbol`. */
export const keyMatches = (key: string, symbol: string): boolean =>
  key === ALL_KEY || (key[0] === '=' ? key.slice(1) === symbol : symbol.startsWith(key.slice(1)));

/**
 * One connection's subscriptions, merged across its subscribe requests: quote keys (all,
 * names, prefixes), each with the `maxRate` it was asked with, and the headlines flag.
 */
export class ConnectionInterest implements Interest {
  /** Quote keys to their maxRate; undefined means every update. */
  private readonly rates = new Map<string, number | undefined>();
  wantsHeadlines = false;

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
      this.rates.set(key, merged);
    }
  }

  /** Removes symbols, or the whole quotes subscription when `symbols` is undefined. */
  removeQuotes(symbols: readonly string[] | undefined): void {
    if (symbols === undefined) this.rates.clear();
    else for (const s of symbols) this.rates.delete(keyOf(s));
  }

  wantsQuote(symbol: string): boolean {
    for (const key of this.rates.keys()) if (keyMatches(key, symbol)) return true;
    return false;
  }

  /** The update rate limit for `symbol`: the most generous of the subscriptions covering it. */
  rateFor(symbol: string): number | undefined {
    let rate: number | undefined;
    let covered = false;
    for (const [key, r] of this.rates) {
      if (!keyMatches(key, symbol)) continue;
      if (r === undefined) return undefined;
      rate = covered ? Math.max(rate!, r) : r;
      covered = true;
    }
    return rate;
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
