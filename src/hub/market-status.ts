import {
  asyncScheduler,
  distinctUntilChanged,
  expand,
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
    feedTimes.pipe(
      switchMap((anchor) => {
        const setAt = scheduler.now();
        const feedNow = () => anchor + (scheduler.now() - setAt) * rate;
        return of(anchor).pipe(
          expand((t) => timer((nextMarketChange(t) - t) / rate, scheduler).pipe(map(feedNow))),
        );
      }),
      map((t) => marketState(new Date(t), holidays)),
      distinctUntilChanged(),
    );
