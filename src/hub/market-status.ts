import {
  asyncScheduler,
  defer,
  distinctUntilChanged,
  expand,
  filter,
  map,
  of,
  switchMap,
  timer,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import type { MarketState } from '../protocol/messages.ts';
import { marketState, nextMarketChange } from './market-calendar.ts';

/** How the market clock runs. */
export interface MarketClockOptions {
  /** Exchange holidays, `YYYY-MM-DD` in Asia/Karachi. */
  holidays?: ReadonlySet<string>;
  /** Feed milliseconds per scheduler millisecond between frames (a replay's speed). */
  rate?: number;
  scheduler?: SchedulerLike;
}

/**
 * How far (feed ms) a frame's time may be from where the running clock already is and still
 * leave the clock alone: a busy feed would otherwise restart the clock and its timer on every
 * frame, which cost more than the rest of the frame's work. The running clock's own timer still
 * marks every calendar boundary, so the state is late by at most this much feed time.
 */
const ANCHOR_TOLERANCE_MS = 100;

/**
 * The PSX market state on the feed's own clock. Each input is a feed time (a frame's capture
 * time) that sets the clock; between inputs the clock runs on at `rate`, and the state is
 * evaluated again at every calendar boundary it crosses. Emits only when the state changes.
 * @example frameTimes$.pipe(marketStates({ holidays, rate: speed })).subscribe((market) => hub.setStatus({ market }))
 */
export const marketStates =
  ({ holidays = new Set(), rate = 1, scheduler = asyncScheduler }: MarketClockOptions = {}): OperatorFunction<
    number,
    MarketState
  > =>
  (feedTimes) =>
    defer(() => {
      let clock: { anchor: number; setAt: number } | undefined;
      const feedNow = ({ anchor, setAt }: { anchor: number; setAt: number }) =>
        anchor + (scheduler.now() - setAt) * rate;
      return feedTimes.pipe(
        filter((t) => clock === undefined || Math.abs(t - feedNow(clock)) > ANCHOR_TOLERANCE_MS),
        switchMap((anchor) => {
          const set = (clock = { anchor, setAt: scheduler.now() });
          return of(anchor).pipe(
            expand((t) => timer((nextMarketChange(t) - t) / rate, scheduler).pipe(map(() => feedNow(set)))),
          );
        }),
        map((t) => marketState(new Date(t), holidays)),
        distinctUntilChanged(),
      );
    });
