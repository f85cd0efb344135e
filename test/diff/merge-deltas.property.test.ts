import fc from 'fast-check';
import { from, lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { TimedQuote } from '../../src/diff/changes.ts';
import { diffQuotes } from '../../src/diff/diff-quotes.ts';
import { withDayFields } from '../../src/bars/day-fields.ts';
import { mergeDeltas } from '../../src/diff/merge-deltas.ts';
import { Hub, publishTo } from '../../src/hub/hub.ts';
import type { HubMessage, Quote, QuoteMessage } from '../../src/protocol/messages.ts';

// Small value domains so that unchanged fields, repeated values and flips back all occur.
const quoteArb: fc.Arbitrary<TimedQuote> = fc.record({
  type: fc.constant('quote' as const),
  symbol: fc.constantFrom('AIRLINK', 'BOP', 'KSE100'),
  kind: fc.constantFrom('stock' as const, 'index' as const),
  price: fc.constantFrom(1, 1.5, 2),
  change: fc.constantFrom(-0.5, 0, 0.5),
  changePercent: fc.constantFrom(-1, 0, 1),
  direction: fc.constantFrom('up' as const, 'down' as const, 'unchanged' as const),
  line: fc.constant(1),
  ts: fc.constantFrom('2023-11-09T04:31:00.000Z', '2023-11-09T04:32:00.000Z'),
});

type State = Map<string, Quote>;

/** What a client does with a delta: the fields it carries replace the ones it holds. */
const applyDelta = (state: State, m: QuoteMessage): State => {
  const { type: _type, seq: _seq, ...fields } = m;
  return new Map(state).set(m.symbol, { ...state.get(m.symbol), ...fields } as Quote);
};

/** Every hub event for a run of quotes, with the client state after each (index = seq). */
const run = async (quotes: TimedQuote[]) => {
  const hub = new Hub({ history: { size: 100_000, ageMs: 3_600_000 }, headlineCount: 50, epoch: 'E' });
  const events: QuoteMessage[] = [];
  const sub = hub.messages$.subscribe((m) => m.type === 'quote' && events.push(m));
  await lastValueFrom(from(quotes).pipe(withDayFields(), diffQuotes(), publishTo(hub)), {
    defaultValue: undefined,
  });
  sub.unsubscribe();
  const states: State[] = [new Map()];
  for (const e of events) states.push(applyDelta(states.at(-1)!, e));
  return { hub, events, states };
};

const everything = { wantsQuote: () => true, wantsHeadlines: true };

describe('merged deltas', () => {
  it('take the state at any seq to the final state when resumed from there', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(quoteArb, { maxLength: 60 }), fc.nat(), async (quotes, pick) => {
        const { hub, states } = await run(quotes);
        const since = pick % states.length;
        const result = hub.resume({ epoch: 'E', seq: since }, everything);
        expect(result.recovered).toBe(true);
        const messages = result.recovered ? (result.messages as HubMessage[]) : [];
        const resumed = messages.reduce(
          (s, m) => (m.type === 'quote' ? applyDelta(s, m) : s),
          states[since]!,
        );
        expect(resumed).toEqual(states.at(-1));
        expect(resumed).toEqual(new Map(hub.snapshot().map((q) => [q.symbol, q])));
      }),
      { numRuns: 300 },
    );
  });

  it('of any run of one symbol take the state before the run to the state after it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(quoteArb, { maxLength: 40 }), fc.nat(), fc.nat(), async (quotes, a, b) => {
        const { events, states } = await run(quotes.map((q) => ({ ...q, symbol: 'AIRLINK' })));
        fc.pre(events.length > 0);
        const [i, j] = [a % events.length, b % events.length].sort((x, y) => x - y) as [number, number];
        const merged = events.slice(i, j + 1).reduce(mergeDeltas);
        expect(applyDelta(states[i]!, merged)).toEqual(states[j + 1]);
      }),
      { numRuns: 300 },
    );
  });
});
