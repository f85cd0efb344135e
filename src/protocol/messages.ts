/**
 * The wire contract (docs/protocol.md, version 1). Its one source is the zod module in the
 * client package (`client/protocol/`), which the server, the client library and the widget
 * share; this re-export keeps the server's imports in one place. Beside it, the hub's own
 * events, which the journal and the bus carry but clients never see whole.
 */
import type { Bar, HeadlineMessage, QuoteMessage } from '../../client/protocol/index.ts';

export * from '../../client/protocol/index.ts';

/**
 * Bars as one hub event: those the feed's clock closed at once, of every symbol and interval
 * (the bars a quote changes are folded from the quote by every hub, and take its seq). Journals
 * written before then also hold one per quote change, with its symbol's bars of every interval.
 * A subscriber gets a `candle` with this `seq` for each bar of its interval.
 */
export interface BarsMessage {
  type: 'bars';
  seq: number;
  bars: Bar[];
}

/** An event that the hub stamps with `seq`: what history, the journal and the bus hold. */
export type HubMessage = QuoteMessage | HeadlineMessage | BarsMessage;
