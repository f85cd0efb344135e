import type { MarketState } from '../protocol/messages.ts';
import { KARACHI_OFFSET_MS } from '../source/time-window.ts';

/** Trading sessions by weekday (0 = Sunday), in minutes after midnight, Asia/Karachi. */
const SESSIONS: Record<number, [number, number][]> = {
  1: [[570, 930]],
  2: [[570, 930]],
  3: [[570, 930]],
  4: [[570, 930]],
  5: [
    [555, 720],
    [870, 990],
  ],
};
const PRE_OPEN_MINUTES = 15;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The PSX market state at `time`, evaluated in Asia/Karachi. `holidays` are `YYYY-MM-DD` dates. */
export const marketState = (time: Date, holidays: ReadonlySet<string> = new Set()): MarketState => {
  const local = new Date(time.getTime() + KARACHI_OFFSET_MS);
  if (holidays.has(local.toISOString().slice(0, 10))) return 'closed';
  const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
  const sessions = SESSIONS[local.getUTCDay()] ?? [];
  if (sessions.some(([open, close]) => minute >= open && minute < close)) return 'open';
  if (sessions.some(([open]) => minute >= open - PRE_OPEN_MINUTES && minute < open)) return 'pre-open';
  return 'closed';
};

/**
 * The first instant (ms) after `time` at which the market state may change: a pre-open, an
 * open, a close, or the next local midnight (a new weekday or a holiday).
 */
export const nextMarketChange = (time: number): number => {
  const dayStart = Math.floor((time + KARACHI_OFFSET_MS) / DAY) * DAY - KARACHI_OFFSET_MS;
  const weekday = new Date(dayStart + KARACHI_OFFSET_MS).getUTCDay();
  const boundaries = (SESSIONS[weekday] ?? [])
    .flatMap(([open, close]) => [open - PRE_OPEN_MINUTES, open, close])
    .map((minute) => dayStart + minute * MINUTE);
  return Math.min(...boundaries.filter((b) => b > time), dayStart + DAY);
};
