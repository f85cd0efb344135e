import { KARACHI_OFFSET_MS } from '../source/time-window.ts';

export const DAY_MS = 86_400_000;

/** The start (ms) of the Asia/Karachi day that holds `ms`: the trading day's boundary. */
export const dayStart = (ms: number): number =>
  Math.floor((ms + KARACHI_OFFSET_MS) / DAY_MS) * DAY_MS - KARACHI_OFFSET_MS;

/** The Asia/Karachi date (`YYYY-MM-DD`) that holds `ms`: the trading day a quote belongs to. */
export const tradingDay = (ms: number): string => new Date(ms + KARACHI_OFFSET_MS).toISOString().slice(0, 10);
