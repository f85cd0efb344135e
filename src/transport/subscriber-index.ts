import { ALL_KEY } from './interest.ts';

/**
 * Symbol → subscribers, so an event reaches its receivers without scanning every connection.
 * Keys are those of `ConnectionInterest` (`*`, `=NAME`, `^PREFIX`); headlines are a set of their own.
 */
export class SubscriberIndex<T> {
  private readonly byKey = new Map<string, Set<T>>();
  private readonly prefixes = new Map<string, Set<T>>();
  private readonly keysOf = new Map<T, readonly string[]>();
  readonly headlines = new Set<T>();

  /** Replaces the quote keys `member` is indexed under. */
  setQuoteKeys(member: T, keys: readonly string[]): void {
    for (const key of this.keysOf.get(member) ?? []) {
      const map = key[0] === '^' ? this.prefixes : this.byKey;
      const set = map.get(key);
      set?.delete(member);
      if (set?.size === 0) map.delete(key);
    }
    if (keys.length === 0) this.keysOf.delete(member);
    else this.keysOf.set(member, keys);
    for (const key of keys) {
      const map = key[0] === '^' ? this.prefixes : this.byKey;
      let set = map.get(key);
      if (!set) map.set(key, (set = new Set()));
      set.add(member);
    }
  }

  /** Sets whether `member` receives headlines. */
  setHeadlines(member: T, wanted: boolean): void {
    if (wanted) this.headlines.add(member);
    else this.headlines.delete(member);
  }

  /** Forgets `member` entirely. */
  remove(member: T): void {
    this.setQuoteKeys(member, []);
    this.headlines.delete(member);
  }

  /** Calls `visit` once for every subscriber of `symbol`. */
  forQuote(symbol: string, visit: (member: T) => void): void {
    const sets: Set<T>[] = [];
    const exact = this.byKey.get(`=${symbol}`);
    if (exact) sets.push(exact);
    const all = this.byKey.get(ALL_KEY);
    if (all) sets.push(all);
    for (const [key, set] of this.prefixes) if (symbol.startsWith(key.slice(1))) sets.push(set);
    if (sets.length === 1) {
      for (const m of sets[0]!) visit(m);
      return;
    }
    // Overlapping subscriptions (a name and a pattern) must still deliver once.
    const seen = new Set<T>();
    for (const set of sets)
      for (const m of set)
        if (!seen.has(m)) {
          seen.add(m);
          visit(m);
        }
  }

  /** How many members hold quote subscriptions. */
  get quoteSubscribers(): number {
    return this.keysOf.size;
  }
}
