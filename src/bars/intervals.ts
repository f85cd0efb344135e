import { BAR_INTERVALS, type BarInterval } from '../protocol/messages.ts';
import { KARACHI_OFFSET_MS } from '../source/time-window.ts';

const MINUTE = 60_000;

/** Each interval's length. Asia/Karachi keeps UTC+5 all year, so a day is always 24 hours. */
export const INTERVAL_MS: Record<BarInterval, number> = {
  '1m': MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '1h': 60 * MINUTE,
  '1d': 24 * 60 * MINUTE,
};

/** The start (ms) of the `interval` bar that holds `ms`, aligned in Asia/Karachi. */
export const barStart = (interval: BarInterval, ms: number): number => {
  const len = INTERVAL_MS[interval];
  return Math.floor((ms + KARACHI_OFFSET_MS) / len) * len - KARACHI_OFFSET_MS;
};

/** Whether `x` names a bar interval. */
export const isBarInterval = (x: unknown): x is BarInterval =>
  (BAR_INTERVALS as readonly unknown[]).includes(x);
