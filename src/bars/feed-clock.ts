import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';

const MINUTE = 60_000;
/**
 * How much later than the latest input says (scheduler ms) a pending tick may come before it is
 * set again: a tick late by that much closes bars that much later, while setting it on every
 * input would make and clear a timer per frame.
 */
const LATE_MS = 100;

/**
 * The feed's clock at every whole minute: each input (a frame's capture time) sets it, and
 * between inputs it runs on at `rate` feed ms per scheduler ms (a replay's speed), so bars
 * close when the feed's time passes their end even when no further frame comes. A tick never
 * comes before the latest input says the minute is reached; it may come up to `LATE_MS` after.
 * @example feedClock(frameTimes$, speed).pipe(...)
 */
export const feedClock = (
  feedTimes$: Observable<number>,
  rate = 1,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<number> =>
  new Observable<number>((subscriber) => {
    // The latest input and when it came (scheduler ms); the last whole minute reached, ticked or
    // input; the tick pending and when it is due.
    let base = { t: NaN, at: NaN };
    let reached = -Infinity;
    let pending: Subscription | undefined;
    let due = Infinity;

    const feedNow = (): number => base.t + (scheduler.now() - base.at) * rate;
    const dueOf = (minute: number): number => scheduler.now() + (minute - feedNow()) / rate;
    const arm = (): void => {
      pending?.unsubscribe();
      // A tick's subscriber may have left in the tick (a `take`): nothing more to set.
      if (subscriber.closed) return;
      due = dueOf(reached + MINUTE);
      pending = scheduler.schedule(fire, Math.max(0, due - scheduler.now()));
    };
    const fire = (): void => {
      pending = undefined;
      // Early when an input since said the feed runs behind: then it is set again for the rest.
      // Half a millisecond of slack for the float sums (feed times are whole milliseconds).
      const minute = Math.floor((feedNow() + 0.5) / MINUTE) * MINUTE;
      if (minute > reached) subscriber.next((reached = minute));
      arm();
    };

    const inputs = feedTimes$.subscribe({
      next: (t) => {
        // A time that is no number (an invalid capture date) would stop the clock for good.
        if (!Number.isFinite(t)) return;
        base = { t, at: scheduler.now() };
        const minute = Math.floor(t / MINUTE) * MINUTE;
        // A feed that went back (a new replay) starts over; the input's own minute needs no tick.
        reached = t < reached ? minute : Math.max(reached, minute);
        // A tick due later than this input says is set again; one due sooner is checked when it fires.
        if (pending === undefined || dueOf(reached + MINUTE) < due - LATE_MS) arm();
      },
      error: (err: unknown) => subscriber.error(err),
    });
    return () => {
      inputs.unsubscribe();
      pending?.unsubscribe();
    };
  });
