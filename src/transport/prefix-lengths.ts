/**
 * The distinct lengths of a set of prefix patterns, each with how many patterns have it.
 * Matching a symbol then looks up its own prefixes of those lengths (a symbol has at most 32
 * characters) instead of testing every pattern: the cost of a match no longer grows with the
 * number of patterns a client names, which an attacker chooses.
 */
export class PrefixLengths {
  private readonly counts = new Map<number, number>();

  add(prefix: string): void {
    this.counts.set(prefix.length, (this.counts.get(prefix.length) ?? 0) + 1);
  }

  delete(prefix: string): void {
    const left = (this.counts.get(prefix.length) ?? 1) - 1;
    if (left === 0) this.counts.delete(prefix.length);
    else this.counts.set(prefix.length, left);
  }

  clear(): void {
    this.counts.clear();
  }

  /** Calls `visit` with each prefix of `symbol` that some pattern may hold; stops when it returns true. */
  some(symbol: string, visit: (prefix: string) => boolean): boolean {
    for (const length of this.counts.keys())
      if (length <= symbol.length && visit(symbol.slice(0, length))) return true;
    return false;
  }
}
