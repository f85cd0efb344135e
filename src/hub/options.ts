import { existsSync, readFileSync } from 'node:fs';
import { TickstreamError } from '../errors.ts';
import { duration, num, str, type FlagValues } from '../options.ts';
import type { HistoryLimits } from './history.ts';
import { DEFAULT_BAR_DAYS } from './hub.ts';

/** parseArgs descriptors for the hub's flags. */
export const hubFlags = {
  'history-size': { type: 'string' },
  'history-age': { type: 'string' },
  holidays: { type: 'string' },
  'data-dir': { type: 'string' },
  'fsync-interval': { type: 'string' },
  'bar-days': { type: 'string' },
} as const;

/** `serve --help` lines for the hub's flags. */
export const hubHelp = `  --history-size N   events kept for resume (default 100000)
  --history-age D    how long events are kept for resume (default 1h)
  --holidays LIST    PSX holidays: YYYY-MM-DD dates, comma-separated, or a file of them
                     (one or more a line, # starts a comment); the market is closed on them
  --data-dir DIR     persist epoch, seq, snapshot and history here; a restart (kill -9
                     included) continues the same epoch and seq, or a new epoch when the
                     journal may have lost events clients saw (a full disk, a reboot);
                     not with --role edge, which takes its state from Redis
  --fsync-interval D longest a journaled event waits for fsync, bounding what an OS crash
                     can lose (default 1s; 0 = fsync every event; kill -9 loses nothing)
  --bar-days N       trading days of intraday bars kept, persisted and served (default 5;
                     0 = no bars)`;

/** The hub's settings from the command line. */
export interface HubConfig {
  history: HistoryLimits;
  /** How many recent headlines a headlines subscriber gets on subscribe. */
  headlineCount: number;
  /** Exchange holidays (`YYYY-MM-DD`, Asia/Karachi). */
  holidays?: ReadonlySet<string>;
  /** Where state persists; none means in memory only. */
  dataDir?: string;
  fsyncMs?: number;
  /** Trading days of bars kept; absent or 0: no bars. */
  barDays?: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** `--holidays`: a list of dates, or a file that holds them; a bad date fails at start. */
export const parseHolidays = (raw: string): Set<string> => {
  const looksLikeList = raw.split(',').every((d) => DATE.test(d.trim()));
  let text = raw;
  if (!looksLikeList) {
    if (!existsSync(raw))
      throw new TickstreamError('bad_config', `--holidays: "${raw}" is neither YYYY-MM-DD dates nor a file`);
    text = readFileSync(raw, 'utf8').replace(/#.*$/gm, '');
  }
  const dates = text.split(/[\s,]+/).filter(Boolean);
  for (const d of dates) {
    const time = Date.parse(`${d}T00:00:00Z`);
    // The round trip rejects dates like 2023-02-30 that the pattern lets through.
    if (!DATE.test(d) || Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== d)
      throw new TickstreamError('bad_config', `--holidays: "${d}" is not a YYYY-MM-DD date`);
  }
  return new Set(dates);
};

/** `--bar-days`: a whole number of trading days. */
const barDays = (values: FlagValues): number => {
  const days = num(values, 'bar-days', DEFAULT_BAR_DAYS, { min: 0, max: 3660 });
  if (!Number.isInteger(days))
    throw new TickstreamError('bad_config', `--bar-days must be a whole number of days, got "${days}"`);
  return days;
};

/** The hub's config from parsed flags. */
export const hubConfig = (values: FlagValues): HubConfig => {
  const holidays = str(values, 'holidays');
  const dataDir = str(values, 'data-dir');
  return {
    history: {
      size: num(values, 'history-size', 100_000, { min: 0 }),
      ageMs: duration(values, 'history-age', 3_600_000),
    },
    headlineCount: 50,
    holidays: holidays === undefined ? new Set() : parseHolidays(holidays),
    ...(dataDir !== undefined && { dataDir }),
    fsyncMs: duration(values, 'fsync-interval', 1000),
    barDays: barDays(values),
  };
};
