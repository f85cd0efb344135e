import { ALL_KEY } from './interest.ts';
import { PrefixLengths } from './prefix-lengths.ts';

/**
 * Symbol → subscribers, so an event reaches its receivers without scanning every connection.
 * Keys are those of `ConnectionInterest` (`*`, `=NAME`, `^PREFIX`); headlines are a set of their own.
 */
export class SubscriberIndex<T> {
  private readonly byKey = new Map<string, Set<T>>();
  /** Prefix patterns by the bare prefix (`OGDC` for `^OGDC`), so matching slices nothing per event. */
  private readonly prefixes = new Map<string, Set<T>>();
  private readonly prefixLengths = new PrefixLengths();
  private readonly keysOf = new Map<T, readonly string[]>();
  readonly headlines = new Set<T>();

  /** Replaces the quote keys `member` is indexed under. */
  setQuoteKeys(member: T, keys: readonly string[]): void {
    const had = this.keysOf.get(member) ?? [];
    // Only what changed is moved: a client repeating its subscription costs lookups, not index work.
    const kept = new Set(keys);
    const old = new Set(had);
    for (const key of had) {
      if (kept.has(key)) continue;
      const [map, at] = this.slot(key);
      const set = map.get(at);
      set?.delete(member);
      if (set?.size === 0) {
        map.delete(at);
        if (map === this.prefixes) this.prefixLengths.delete(at);
      }
    }
    if (keys.length === 0) this.keysOf.delete(member);
    else this.keysOf.set(member, keys);
    for (const key of keys) {
      if (old.has(key)) continue;
      const [map, at] = this.slot(key);
      let set = map.get(at);
      if (!set) {
        map.set(at, (set = new Set()));
        if (map === this.prefixes) this.prefixLengths.add(at);
      }
      set.add(member);
    }
  }

  private slot(key: string): [Map<string, Set<T>>, string] {
    return key[0] === '^' ? [this.prefixes, key.slice(1)] : [this.byKey, key];
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
    // Looked up by the symbol's own prefixes: the cost per event does not grow with the
    // number of distinct patterns clients hold.
    this.prefixLengths.some(symbol, (prefix) => {
      const set = this.prefixes.get(prefix);
      if (set) sets.push(set);
      return false;
    });
    // A member under two matching keys (a name and a pattern) is visited from the first set
    // that holds it only: checked against the earlier sets, with no allocation per event.
    for (let i = 0; i < sets.length; i++)
      for (const m of sets[i]!) {
        let earlier = false;
        for (let j = 0; j < i && !earlier; j++) earlier = sets[j]!.has(m);
        if (!earlier) visit(m);
      }
  }

  /** How many members hold quote subscriptions. */
  get quoteSubscribers(): number {
    return this.keysOf.size;
  }
}
