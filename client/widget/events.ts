import type { ConnectionState, QuoteUpdate } from '../client.ts';
import type { MarketState, SourceState } from '../protocol/index.ts';
import type { TickTape } from './tick-tape.ts';

/** The detail of `tick-tape:state`: the connection, and the feed's and the market's state once known. */
export interface TickTapeStateDetail {
  connection: ConnectionState;
  source: SourceState | undefined;
  market: MarketState | undefined;
  /** What the tape's indicator says: `Live`, `Reconnecting…`, `Market closed`, … */
  label: string;
}

/** The detail of `tick-tape:quote`: the whole quote after an update, the one before, and what changed. */
export type TickTapeQuoteDetail = QuoteUpdate;

/** The DOM events `<tick-tape>` dispatches; they bubble and cross shadow roots. */
export interface TickTapeEventMap {
  'tick-tape:state': CustomEvent<TickTapeStateDetail>;
  'tick-tape:quote': CustomEvent<TickTapeQuoteDetail>;
}

declare global {
  interface HTMLElementTagNameMap {
    'tick-tape': TickTape;
  }
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface HTMLElementEventMap extends TickTapeEventMap {}
}
