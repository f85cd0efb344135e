import { parseArgs } from 'node:util';
import { Hub } from '../src/hub/hub.ts';

/**
 * `--events N --rounds N` of a benchmark of a full history: how many quote events the hub holds
 * (default 100,000: `--history-size`'s and `--bus-maxlen`'s default) and how often each way runs.
 */
export const eventsAndRounds = (defaultRounds: number): { events: number; rounds: number } => {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '100000' },
      rounds: { type: 'string', default: String(defaultRounds) },
    },
  });
  const events = Number(values.events);
  const rounds = Number(values.rounds);
  if (!(events >= 1 && events <= 1_000_000 && rounds >= 1 && rounds <= 10))
    throw new Error('--events takes 1-1,000,000 and --rounds 1-10');
  return { events, rounds };
};

/** What a hub holding `events` events is made with: history for all of them, a day of bars. */
export const fullHistoryLimits = (events: number) => ({
  history: { size: events, ageMs: 3_600_000 },
  headlineCount: 50,
  barDays: 1,
});

/** A hub of epoch `E` that stamped `events` quote events, every one a change: 1,000 symbols, each price new. */
export const fullHistoryHub = (events: number): Hub => {
  const hub = new Hub({ ...fullHistoryLimits(events), epoch: 'E' });
  for (let i = 0; i < events; i++)
    hub.apply({
      type: 'quote',
      symbol: `SYM${i % 1000}`,
      ts: new Date(Date.UTC(2023, 10, 8, 4, 31, 0, i % 1000)).toISOString(),
      fields: { kind: 'stock', price: 80 + i / 100, change: 1, changePercent: 1, direction: 'up' },
    });
  return hub;
};
