/**
 * The wire contract (docs/protocol.md, version 1). Its one source is the zod module in the
 * client package (`client/protocol/`), which the server, the client library and the widget
 * share; this re-export keeps the server's imports in one place. Beside it, the hub's own
 * events, which the journal and the bus carry but clients never see whole.
 */
import type { Bar, HeadlineMessage, QuoteMessage } from '../../client/protocol/index.ts';

export * from '../../client/protocol/index.ts';

/**
 * The bars of one symbol that one quote change (or the feed's clock) changed or closed, of
 * every interval, as one hub event: the hub stamps, holds and journals one event per symbol
 * change rather than one per bar. A subscriber gets a `candle` with this `seq` for each bar of
 * its interval.
 */
export interface BarsMessage {
  type: 'bars';
  seq: number;
  symbol: string;
  bars: Bar[];
}

/** An event that the hub stamps with `seq`: what history, the journal and the bus hold. */
export type HubMessage = QuoteMessage | HeadlineMessage | BarsMessage;
