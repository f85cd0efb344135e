import type { Bar, BarInterval } from '../protocol/messages.ts';
import { dayStart, tradingDay } from '../bars/karachi-time.ts';

/** Which bars a query wants. */
export interface BarQuery {
  interval: BarInterval;
  symbol?: (symbol: string) => boolean;
  /** ISO instants: bars starting in [from, to); `from` defaults to the latest trading day's start. */
  from?: string;
  to?: string;
}

/**
 * The bars of the last `days` trading days (Asia/Karachi dates the bars start on), by day,
 * then symbol and interval, each list in start order. A bar replaces the one with its start.
 */
export class BarStore {
  private readonly byDay = new Map<string, Map<string, Bar[]>>();
  // Every symbol's bars share a few starts: their day is worked out once per start.
  private readonly dayOf = new Map<string, string>();

  constructor(private readonly days: number) {}

  /** Holds a bar; a bar of a new day beyond the limit drops the oldest day. */
  put(bar: Bar): void {
    let day = this.dayOf.get(bar.start);
    if (day === undefined) {
      if (this.dayOf.size > 10_000) this.dayOf.clear();
      this.dayOf.set(bar.start, (day = tradingDay(Date.parse(bar.start))));
    }
    let lists = this.byDay.get(day);
    if (!lists) {
      this.byDay.set(day, (lists = new Map()));
      this.prune();
      if (!this.byDay.has(day)) return;
    }
    const key = `${bar.symbol} ${bar.interval}`;
    const list = lists.get(key);
    if (!list) return void lists.set(key, [bar]);
    // Bars come in start order: the new one is the last one or follows it.
    let i = list.length - 1;
    while (i >= 0 && list[i]!.start > bar.start) i--;
    if (i >= 0 && list[i]!.start === bar.start) list[i] = bar;
    else list.splice(i + 1, 0, bar);
  }

  private prune(): void {
    const held = [...this.byDay.keys()].sort();
    for (const day of held.slice(0, Math.max(0, held.length - this.days))) this.byDay.delete(day);
  }

  /** The latest trading day held, if any. */
  get latestDay(): string | undefined {
    let latest: string | undefined;
    for (const day of this.byDay.keys()) if (latest === undefined || day > latest) latest = day;
    return latest;
  }

  /** The bars a query asks for, ordered by symbol, then start. */
  query({ interval, symbol = () => true, from, to }: BarQuery): Bar[] {
    const latest = this.latestDay;
    if (latest === undefined) return [];
    const since = from ?? new Date(dayStart(Date.parse(`${latest}T12:00:00+05:00`))).toISOString();
    const out: Bar[] = [];
    for (const lists of this.byDay.values())
      for (const list of lists.values()) {
        const first = list[0]!;
        if (first.interval !== interval || !symbol(first.symbol)) continue;
        for (const bar of list) if (bar.start >= since && (to === undefined || bar.start < to)) out.push(bar);
      }
    return out.sort((a, b) =>
      a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.start < b.start ? -1 : 1,
    );
  }

  /** The latest bar of every symbol and interval: where a restarted bars stage continues. */
  latest(): Bar[] {
    const last = new Map<string, Bar>();
    for (const day of [...this.byDay.keys()].sort())
      for (const [key, list] of this.byDay.get(day)!) last.set(key, list.at(-1)!);
    return [...last.values()];
  }

  /** Every bar held, oldest day first: what persistence and the bus carry. */
  all(): Bar[] {
    return [...this.byDay.keys()].sort().flatMap((day) => [...this.byDay.get(day)!.values()].flat());
  }

  clear(): void {
    this.byDay.clear();
  }
}
