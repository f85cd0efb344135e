import { quoteDelta } from '../../src/diff/diff-quotes.ts';
import type { LineValues, QuoteMessage } from '../../src/protocol/messages.ts';
import type { GeneratedQuote, QuoteGenerator } from '../feed.ts';

const values = (q: GeneratedQuote): LineValues => ({
  kind: 'stock',
  price: q.price,
  change: q.change,
  changePercent: q.changePercent,
  direction: q.direction,
});

/**
 * The peers' ingest: the same quote deltas tickstream sends (`seq`, `v`, only the changed
 * fields, and `ts`: when the burst entered the server, one time for all of its changes as
 * tickstream stamps a frame), so every server puts the same bytes of content on the wire and
 * latency counts the same span everywhere: from the burst's arrival, not from each update's turn.
 */
export const deltaStamper = (
  generator: QuoteGenerator,
): ((q: GeneratedQuote, ts: string) => QuoteMessage) => {
  const last = new Map(generator.all().map((q) => [q.symbol, values(q)]));
  const versions = new Map<string, number>();
  let seq = 0;
  return (q, ts) => {
    const next = values(q);
    const fields = quoteDelta(last.get(q.symbol), next) ?? {};
    last.set(q.symbol, next);
    const v = (versions.get(q.symbol) ?? 1) + 1;
    versions.set(q.symbol, v);
    return { type: 'quote', seq: ++seq, symbol: q.symbol, v, ...fields, ts };
  };
};

/** A subscribe request as the json and socket.io peers read it: all symbols, or a list. */
export interface PeerSubscribe {
  symbols?: string[];
}
