import { candleOf } from '../hub/candles.ts';
import { eventJson } from '../hub/event-json.ts';
import {
  BAR_INTERVALS,
  type Bar,
  type BarInterval,
  type EventMessage,
  type HubMessage,
  type QuoteMessage,
  type ServerMessage,
} from '../protocol/messages.ts';
import type { CandleIndex } from './candles-channel.ts';
import type { Outgoing } from './sink.ts';
import type { SubscriberIndex } from './subscriber-index.ts';

/** What fan-out hands items to. */
export interface Receiver {
  /** A routed hub event (rate gates and candle throttles may hold it). */
  deliver(item: Outgoing): void;
  /** A message for everyone, queued as is. */
  enqueue(item: Outgoing): void;
}

/**
 * Routes each hub message to the clients whose subscriptions want it, serialized once and
 * shared by all of them; each item takes the next position of the coming flush, so clients
 * with the same run of items share one encoded frame.
 */
export class FanOut<T extends Receiver> {
  constructor(
    private readonly index: SubscriberIndex<T>,
    private readonly candles: CandleIndex<T>,
    private readonly everyone: Iterable<T>,
    private readonly nextPosition: () => number,
    /** A symbol's latest bar of an interval, as the hub holds it once it has folded a quote in. */
    private readonly latestBar: (symbol: string, interval: BarInterval) => Bar | undefined,
  ) {}

  /** Hands one hub message to its subscribers. */
  readonly route = (message: HubMessage): void => {
    if (message.type === 'bars') {
      for (const bar of message.bars) {
        // Made on the first subscriber: most bars of most symbols have none.
        let item: Outgoing | undefined;
        this.candles.forBar(bar, (c) => c.deliver((item ??= this.shared(candleOf(message.seq, bar)))));
      }
      return;
    }
    const item = this.shared(message);
    if (message.type === 'quote') {
      this.index.forQuote(message.symbol, (c) => c.deliver(item));
      this.routeBars(message);
    } else for (const c of this.index.headlines) c.deliver(item);
  };

  /** A quote changed its symbol's bar of every interval: each goes to its candle subscribers. */
  private routeBars({ symbol, seq }: QuoteMessage): void {
    for (const interval of BAR_INTERVALS) {
      let item: Outgoing | undefined;
      this.candles.forSymbol(symbol, interval, (c) => {
        item ??= this.candleItem(seq, symbol, interval);
        if (item) c.deliver(item);
      });
    }
  }

  /** The candle of `symbol`'s latest bar of `interval` as of the event `seq`, if it has one. */
  private candleItem(seq: number, symbol: string, interval: BarInterval): Outgoing | undefined {
    const bar = this.latestBar(symbol, interval);
    return bar && this.shared(candleOf(seq, bar));
  }

  /** Queues one message for every client, serialized once. */
  broadcast(message: ServerMessage): void {
    const item: Outgoing = { json: JSON.stringify(message), tick: this.nextPosition() };
    for (const c of this.everyone) c.enqueue(item);
  }

  private shared(message: EventMessage): Outgoing {
    return { json: eventJson(message), message, tick: this.nextPosition() };
  }
}
