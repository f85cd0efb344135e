import type { Bar, BarInterval } from './protocol/index.ts';

/**
 * The client's bars, by interval and symbol, each list in start order: a candle replaces the
 * bar with its start (a candle is the whole bar) or adds a new one.
 */
export class CandleStore {
  private readonly lists = new Map<string, Bar[]>();

  /** Holds a bar from a snapshot or a candle update. */
  apply(bar: Bar): void {
    const key = `${bar.interval} ${bar.symbol}`;
    const list = this.lists.get(key);
    if (!list) return void this.lists.set(key, [bar]);
    let i = list.length - 1;
    while (i >= 0 && list[i]!.start > bar.start) i--;
    if (i >= 0 && list[i]!.start === bar.start) list[i] = bar;
    else list.splice(i + 1, 0, bar);
  }

  /** The bars of one symbol and interval, oldest first. */
  bars(interval: BarInterval, symbol: string): readonly Bar[] {
    return this.lists.get(`${interval} ${symbol}`) ?? [];
  }

  /** Forgets an interval's bars (before a snapshot that replaces them), or every bar. */
  clear(interval?: BarInterval): void {
    if (interval === undefined) return this.lists.clear();
    this.forget(interval, () => false);
  }

  /** Forgets the bars of `interval` whose symbol `keep` no longer wants. */
  forget(interval: BarInterval, keep: (symbol: string) => boolean): void {
    const prefix = `${interval} `;
    for (const key of [...this.lists.keys()])
      if (key.startsWith(prefix) && !keep(key.slice(prefix.length))) this.lists.delete(key);
  }
}
