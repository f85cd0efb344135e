import type { SchedulerLike } from 'rxjs';
import type { Hub, Interest } from '../hub/hub.ts';
import {
  BAR_INTERVALS,
  type Bar,
  type BarInterval,
  type CandleMessage,
  type EventMessage,
  type SubscribeRequest,
  type UnsubscribeRequest,
} from '../protocol/messages.ts';
import { CandleThrottle } from './candles-throttle.ts';
import { ConnectionInterest } from './interest.ts';
import { SubscriberIndex } from './subscriber-index.ts';
import type { HeldCandleSnapshot } from './greetings.ts';
import { resumeCost } from './item-budget.ts';
import type { Outgoing } from './sink.ts';

/** Who receives the candles of each interval: one symbol index per interval. */
export class CandleIndex<T> {
  private readonly byInterval = new Map<BarInterval, SubscriberIndex<T>>(
    BAR_INTERVALS.map((i) => [i, new SubscriberIndex<T>()]),
  );

  /** Replaces the symbol keys `member` is indexed under for `interval`. */
  set(member: T, interval: BarInterval, keys: readonly string[]): void {
    this.byInterval.get(interval)!.setQuoteKeys(member, keys);
  }

  /** Forgets `member` in every interval. */
  remove(member: T): void {
    for (const index of this.byInterval.values()) index.remove(member);
  }

  /** Calls `visit` once for every subscriber of this bar's symbol and interval. */
  forBar(bar: Bar, visit: (member: T) => void): void {
    this.forSymbol(bar.symbol, bar.interval, visit);
  }

  /** Calls `visit` once for every subscriber of `symbol`'s bars of `interval`. */
  forSymbol(symbol: string, interval: BarInterval, visit: (member: T) => void): void {
    const index = this.byInterval.get(interval)!;
    if (index.quoteSubscribers > 0) index.forQuote(symbol, visit);
  }
}

/** What a connection's candle subscriptions need from it. */
export interface CandleHost<T> {
  readonly member: T;
  readonly hub: Hub;
  readonly scheduler: SchedulerLike;
  readonly index: CandleIndex<T>;
  /** The shared snapshot of `symbols` (all when absent) at `interval`: one held, or with `fresh` one built now. */
  snapshot(interval: BarInterval, symbols: readonly string[] | undefined, fresh: boolean): HeldCandleSnapshot;
  /** Queues an item (a snapshot) for this client. */
  enqueue(item: Outgoing): void;
  /** Queues a hub event (a candle) for this client. */
  enqueueEvent(message: EventMessage): void;
  /** Told each time a held candle is replaced by a later one of the same bar. */
  onConflate(): void;
}

/**
 * One connection's candle subscriptions: per interval, the symbols (names and `PREFIX*`) with
 * their `maxRate`. Answers subscribe with a snapshot of the current trading day's bars, or the
 * missed candles on resume, and holds back candles over a subscription's rate.
 */
export class CandleSubscriptions<T> {
  private readonly interests = new Map<BarInterval, ConnectionInterest>();
  private throttle: CandleThrottle | undefined;

  constructor(private readonly host: CandleHost<T>) {}

  /**
   * Adds a subscription (its `interval` validated by the request schema) and answers it;
   * returns how many items the answer cost (see `ItemBudget`).
   */
  subscribe(
    request: SubscribeRequest & { interval: BarInterval },
    answer: (recovered: boolean) => void,
  ): number {
    const { hub } = this.host;
    const { interval } = request;
    const interest = this.interestFor(interval);
    interest.addQuotes(request.symbols, request.maxRate);
    this.host.index.set(this.host.member, interval, interest.quoteKeys());
    const requested = new ConnectionInterest();
    requested.addQuotes(request.symbols);
    const wants: Interest = {
      wantsQuote: () => false,
      wantsHeadlines: false,
      wantsCandle: (symbol, i) => i === interval && requested.wantsQuote(symbol),
    };
    const resumed = request.since ? hub.resume(request.since, wants) : { recovered: false as const };
    answer(resumed.recovered);
    if (!resumed.recovered) return this.sendSnapshot(interval, request.symbols, wants);
    for (const m of resumed.messages) this.host.enqueueEvent(m);
    return resumeCost(hub.seq, request.since!.seq, resumed.messages.length);
  }

  /**
   * Queues the day's bars: the snapshot other subscribers share, a little behind the hub, with
   * the candles changed since after it (a candle is the whole bar: one sent twice changes
   * nothing); or a new one when those can no longer be told. Returns the candles sent.
   */
  private sendSnapshot(
    interval: BarInterval,
    symbols: readonly string[] | undefined,
    wants: Interest,
  ): number {
    const { hub } = this.host;
    const held = this.host.snapshot(interval, symbols, false);
    const since = held.seq === hub.seq ? undefined : hub.resume({ epoch: hub.epoch, seq: held.seq }, wants);
    const sent = since?.recovered === false ? this.host.snapshot(interval, symbols, true) : held;
    this.host.enqueue(sent.item);
    if (!since?.recovered) return sent.candles;
    for (const m of since.messages) this.host.enqueueEvent(m);
    return sent.candles + resumeCost(hub.seq, held.seq, since.messages.length);
  }

  /** Removes symbols (or everything) from one interval, or from every interval when none is named. */
  unsubscribe(request: UnsubscribeRequest & { interval?: BarInterval }): void {
    for (const [interval, interest] of this.interests) {
      if (request.interval !== undefined && request.interval !== interval) continue;
      interest.removeQuotes(request.symbols);
      this.host.index.set(this.host.member, interval, interest.quoteKeys());
    }
  }

  /** Takes a candle the index routed here; `maxRate` may hold it back. */
  deliver(candle: CandleMessage): CandleMessage[] {
    const rate = this.interests.get(candle.interval)?.rateFor(candle.symbol);
    if (rate === undefined) return [candle];
    this.throttle ??= new CandleThrottle(
      this.host.scheduler,
      (held) => {
        for (const c of held)
          if (this.interests.get(c.interval)?.wantsQuote(c.symbol)) this.host.enqueueEvent(c);
      },
      () => this.host.onConflate(),
    );
    return this.throttle.offer(candle, rate);
  }

  /** Whether any interval has a subscription (for the subscriptions gauge). */
  get active(): boolean {
    for (const interest of this.interests.values()) if (interest.quoteKeys().length > 0) return true;
    return false;
  }

  /** Forgets every subscription and timer; safe to call twice. */
  dispose(): void {
    this.throttle?.dispose();
    this.interests.clear();
    this.host.index.remove(this.host.member);
  }

  private interestFor(interval: BarInterval): ConnectionInterest {
    let interest = this.interests.get(interval);
    if (!interest) this.interests.set(interval, (interest = new ConnectionInterest()));
    return interest;
  }
}
