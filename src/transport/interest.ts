import type { Interest } from '../hub/hub.ts';

/** One connection's quote and headline subscriptions, merged across its subscribe requests. */
export class ConnectionInterest implements Interest {
  private allQuotes = false;
  private readonly symbols = new Set<string>();
  wantsHeadlines = false;

  /** Adds symbols, or every symbol when `symbols` is undefined. */
  addQuotes(symbols: readonly string[] | undefined): void {
    if (symbols === undefined) this.allQuotes = true;
    else for (const s of symbols) this.symbols.add(s);
  }

  /** Removes symbols, or the whole quotes subscription when `symbols` is undefined. */
  removeQuotes(symbols: readonly string[] | undefined): void {
    if (symbols === undefined) {
      this.allQuotes = false;
      this.symbols.clear();
    } else for (const s of symbols) this.symbols.delete(s);
  }

  wantsQuote(symbol: string): boolean {
    return this.allQuotes || this.symbols.has(symbol);
  }

  get symbolCount(): number {
    return this.symbols.size;
  }
}
