import type { Hub } from '../hub/hub.ts';
import { eventJson } from '../hub/event-json.ts';
import type { Metrics } from '../metrics.ts';
import type {
  BarInterval,
  ErrorCode,
  RequestId,
  ServerMessage,
  SlowPolicy,
  SubscribeRequest,
  UnsubscribeRequest,
} from '../protocol/messages.ts';
import { CandleSubscriptions, type CandleIndex } from './candles-channel.ts';
import { ConnectionInterest } from './interest.ts';
import type { Limits } from './options.ts';
import type { Outgoing } from './sink.ts';
import type { SubscriberIndex } from './subscriber-index.ts';
import { Throttle } from './throttle.ts';
import { resumeCost } from './item-budget.ts';
import type { SchedulerLike } from 'rxjs';
import type { HeldCandleSnapshot } from './greetings.ts';

/** What subscriptions need from the server: one object shared by every client. */
export interface SubscriptionContext<T> {
  readonly hub: Hub;
  readonly limits: Limits;
  readonly metrics: Metrics;
  readonly scheduler: SchedulerLike;
  readonly index: SubscriberIndex<T>;
  readonly candles: CandleIndex<T>;
  /** The snapshot of every quote, shared by every subscriber at one seq. */
  fullSnapshot(): Outgoing;
  /** A candle snapshot, shared by every subscriber with the same request (see `CandleSnapshotCache`). */
  candleSnapshot(
    interval: BarInterval,
    symbols: readonly string[] | undefined,
    fresh: boolean,
  ): HeldCandleSnapshot;
}

/** The client the subscriptions belong to; it is also what the indexes hold. */
export interface SubscriptionClient {
  /** Queues an item for the client (subject to slow-consumer conflation). */
  enqueue(item: Outgoing): void;
  /** Answers a request with an error (and counts it toward the abuse bound). */
  fail(code: ErrorCode, message: string, id?: RequestId): void;
}

/** `{ id }` when the request had one. */
export const withId = (id: RequestId | undefined) => (id !== undefined ? { id } : {});

/**
 * One client's subscriptions: its interest (kept in step with the server's index and the
 * subscriptions gauge), its per-symbol `maxRate` gates and candle subscriptions, and the
 * slow-consumer policy it asked for. Made on a client's first subscribe.
 */
export class Subscriptions<T extends SubscriptionClient> {
  readonly interest = new ConnectionInterest();
  /** What the client asked to happen when it falls behind. */
  slowPolicy: SlowPolicy = 'conflate';
  /** Set once any subscription asks for maxRate; until then deliveries skip the rate gates. */
  private rateLimited = false;
  // Made on the first maxRate and the first candles request: most clients ask for neither.
  private throttle: Throttle | undefined;
  private candleSubs: CandleSubscriptions<T> | undefined;

  constructor(
    private readonly ctx: SubscriptionContext<T>,
    private readonly client: T,
  ) {}

  private gates(): Throttle {
    return (this.throttle ??= new Throttle(
      this.ctx.scheduler,
      (merged) => {
        // A delta held past an unsubscribe is no longer wanted.
        if (this.interest.wantsQuote(merged.symbol)) this.client.enqueue(toOutgoing(merged));
      },
      () => this.ctx.metrics.conflatedDeltas.inc({ reason: 'max_rate' }),
    ));
  }

  private candles(): CandleSubscriptions<T> {
    const { ctx, client } = this;
    return (this.candleSubs ??= new CandleSubscriptions({
      member: client,
      hub: ctx.hub,
      scheduler: ctx.scheduler,
      index: ctx.candles,
      snapshot: (interval, symbols, fresh) => ctx.candleSnapshot(interval, symbols, fresh),
      enqueue: (item) => client.enqueue(item),
      enqueueEvent: (m) => client.enqueue(toOutgoing(m)),
      onConflate: () => ctx.metrics.conflatedDeltas.inc({ reason: 'max_rate' }),
    }));
  }

  /** Takes a hub event the index routed here; `maxRate` may hold it back and merge it. */
  deliver(item: Outgoing): void {
    const message = item.message;
    if (message?.type === 'candle' && this.candleSubs) {
      for (const c of this.candleSubs.deliver(message))
        this.client.enqueue(c === message ? item : toOutgoing(c));
      return;
    }
    if (this.rateLimited && message?.type === 'quote') {
      const out = this.gates().offer(message, this.interest.rateFor(message.symbol));
      if (out === undefined) return;
      if (out !== message) return this.client.enqueue(toOutgoing(out));
    }
    this.client.enqueue(item);
  }

  /**
   * Adds a subscription and sends `subscribed`, then what was missed or a snapshot; returns how
   * many items the answer cost (see `ItemBudget`), 0 when it was refused.
   */
  subscribe(request: SubscribeRequest): number {
    const { hub, limits } = this.ctx;
    if (request.channel === 'quotes' && request.symbols) {
      const count = this.interest.countAfterAdding(request.symbols);
      if (count > limits.maxSymbols) {
        this.client.fail(
          'too_many_symbols',
          `this would hold ${count} symbols; a connection may name at most ${limits.maxSymbols}: ` +
            'subscribe to all (omit symbols) or a prefix pattern like OGDC* instead',
          request.id,
        );
        return 0;
      }
    }
    if (request.slow) this.slowPolicy = request.slow;
    if (request.channel === 'candles' && request.interval)
      return this.candles().subscribe({ ...request, interval: request.interval }, (recovered) => {
        this.countResume(request, recovered);
        this.send({ type: 'subscribed', ...withId(request.id), ...subscribedFields(request), recovered });
      });
    if (request.maxRate !== undefined) this.rateLimited = true;
    const requested = new ConnectionInterest();
    if (request.channel === 'quotes') {
      requested.addQuotes(request.symbols);
      this.setQuotes(() => this.interest.addQuotes(request.symbols, request.maxRate));
    } else {
      requested.wantsHeadlines = true;
      this.setHeadlines(true);
    }
    const resumed = request.since ? hub.resume(request.since, requested) : { recovered: false as const };
    this.countResume(request, resumed.recovered);
    this.send({
      type: 'subscribed',
      ...withId(request.id),
      channel: request.channel,
      ...(request.symbols && { symbols: request.symbols }),
      recovered: resumed.recovered,
    });
    if (resumed.recovered) {
      for (const m of resumed.messages) this.client.enqueue(toOutgoing(m));
      return resumeCost(hub.seq, request.since!.seq, resumed.messages.length);
    }
    if (request.channel === 'headlines') {
      const headlines = hub.latestHeadlines();
      this.send({ type: 'snapshot', channel: 'headlines', seq: hub.seq, headlines });
      return headlines.length;
    }
    if (!request.symbols) {
      this.client.enqueue(this.ctx.fullSnapshot());
      return hub.quoteCount;
    }
    const quotes = hub.snapshot((s) => requested.wantsQuote(s));
    this.client.enqueue(toOutgoing({ type: 'snapshot', channel: 'quotes', seq: hub.seq, quotes }));
    return quotes.length;
  }

  /** Removes a subscription, and any delta its gates still hold. */
  unsubscribe(request: UnsubscribeRequest): void {
    if (request.channel === 'candles') return this.candleSubs?.unsubscribe(request);
    if (request.channel === 'quotes') {
      this.setQuotes(() => this.interest.removeQuotes(request.symbols));
      if (request.symbols) for (const s of request.symbols) this.throttle?.forget(s);
      else this.throttle?.dispose();
    } else this.setHeadlines(false);
  }

  /** Leaves the index and the gauge and stops every timer (the client went). */
  dispose(): void {
    this.setQuotes(() => this.interest.removeQuotes(undefined));
    this.setHeadlines(false);
    this.throttle?.dispose();
    this.candleSubs?.dispose();
  }

  /** Counts how a request that asked to resume was answered: after a failover, operators watch how many recovered. */
  private countResume(request: SubscribeRequest, recovered: boolean): void {
    if (request.since)
      this.ctx.metrics.resumes.inc({ channel: request.channel, recovered: String(recovered) });
  }

  private send(message: ServerMessage): void {
    this.client.enqueue({ json: JSON.stringify(message) });
  }

  /** Applies a change to the quote interest and keeps the index and the gauge in step. */
  private setQuotes(change: () => void): void {
    const had = this.interest.quoteKeys().length > 0;
    change();
    const keys = this.interest.quoteKeys();
    this.ctx.index.setQuoteKeys(this.client, keys);
    if (had !== keys.length > 0) this.ctx.metrics.subscriptions.inc({ channel: 'quotes' }, had ? -1 : 1);
  }

  private setHeadlines(wanted: boolean): void {
    if (this.interest.wantsHeadlines === wanted) return;
    this.interest.wantsHeadlines = wanted;
    this.ctx.index.setHeadlines(this.client, wanted);
    this.ctx.metrics.subscriptions.inc({ channel: 'headlines' }, wanted ? 1 : -1);
  }
}

/** A message serialized for sending; hub events keep their object for conflation. */
const toOutgoing = (message: ServerMessage): Outgoing =>
  message.type === 'quote' || message.type === 'headline' || message.type === 'candle'
    ? { json: eventJson(message), message }
    : { json: JSON.stringify(message) };

/** The request's channel, symbols and interval, echoed in `subscribed`. */
const subscribedFields = (request: SubscribeRequest) => ({
  channel: request.channel,
  ...(request.symbols && { symbols: request.symbols }),
  ...(request.interval && { interval: request.interval }),
});
