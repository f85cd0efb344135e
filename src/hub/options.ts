import { duration, num, type FlagValues } from '../options.ts';
import type { HistoryLimits } from './history.ts';

/** parseArgs descriptors for the hub's flags. */
export const hubFlags = {
  'history-size': { type: 'string' },
  'history-age': { type: 'string' },
} as const;

export const hubHelp = `  --history-size N   events kept for resume (default 100000)
  --history-age D    how long events are kept for resume (default 1h)`;

export interface HubConfig {
  history: HistoryLimits;
  /** How many recent headlines a headlines subscriber gets on subscribe. */
  headlineCount: number;
}

export const hubConfig = (values: FlagValues): HubConfig => ({
  history: {
    size: num(values, 'history-size', 100_000, { min: 0 }),
    ageMs: duration(values, 'history-age', 3_600_000),
  },
  headlineCount: 50,
});
