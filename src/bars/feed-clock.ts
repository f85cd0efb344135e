import { asyncScheduler, map, switchMap, timer, type Observable, type SchedulerLike } from 'rxjs';

const MINUTE = 60_000;

/**
 * The feed's clock at every whole minute: each input (a frame's capture time) sets it, and
 * between inputs it runs on at `rate` feed ms per scheduler ms (a replay's speed), so bars
 * close when the feed's time passes their end even when no further frame comes.
 * @example feedClock(frameTimes$, speed).pipe(...)
 */
export const feedClock = (
  feedTimes$: Observable<number>,
  rate = 1,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<number> =>
  feedTimes$.pipe(
    switchMap((t) => {
      const first = (Math.floor(t / MINUTE) + 1) * MINUTE;
      return timer((first - t) / rate, MINUTE / rate, scheduler).pipe(map((i) => first + i * MINUTE));
    }),
  );
