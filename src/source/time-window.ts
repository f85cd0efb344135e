import type { Frame } from './frame.ts';
import { TickstreamError } from '../errors.ts';
import { parseTime } from './frame-assembler.ts';

/** Asia/Karachi's offset from UTC: Pakistan has kept UTC+5 without daylight saving since 2009. */
export const KARACHI_OFFSET_MS = 5 * 3_600_000;
const DAY_MS = 24 * 3_600_000;
const TIME_OF_DAY = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;

/** A bound of `--from`/`--to`: an instant, or a time of day in Asia/Karachi (any day). */
export type TimeBound = { at: number } | { minuteMs: number };

/** Reads `2023-11-09T05:00:00Z` as an instant and `10:00` or `10:00:30` as Karachi time of day. */
export const parseTimeBound = (flag: string, raw: string): TimeBound => {
  const m = TIME_OF_DAY.exec(raw.trim());
  if (m) {
    const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
    if (h < 24 && min < 60 && s < 60) return { minuteMs: ((h * 60 + min) * 60 + s) * 1000 };
  }
  const at = parseTime(raw.trim())?.getTime();
  if (at === undefined)
    throw new TickstreamError(
      'bad_config',
      `--${flag} must be an ISO-8601 time or HH:MM (Asia/Karachi), got "${raw}"`,
    );
  return { at };
};

const position = (bound: TimeBound, time: number): number =>
  'at' in bound ? time : (((time + KARACHI_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS;
const limit = (bound: TimeBound): number => ('at' in bound ? bound.at : bound.minuteMs);

/** Whether [from, to) holds no time: both bounds of one kind (instants, or times of day), from not before to. */
export const isEmptyWindow = (from: TimeBound, to: TimeBound): boolean =>
  'at' in from === 'at' in to && limit(from) >= limit(to);

/**
 * Keeps the frames captured in [from, to). Frames without a capture time cannot be placed
 * in the window and are kept.
 */
export const inWindow =
  (from: TimeBound | undefined, to: TimeBound | undefined) =>
  (frame: Frame): boolean => {
    if (!frame.capturedAt) return true;
    const t = frame.capturedAt.getTime();
    return (!from || position(from, t) >= limit(from)) && (!to || position(to, t) < limit(to));
  };
