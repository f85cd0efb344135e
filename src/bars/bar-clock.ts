import { map, merge, type Observable, type OperatorFunction } from 'rxjs';
import type { Change, ClockChange } from '../diff/changes.ts';

const tick = (ms: number): ClockChange => ({ type: 'clock', ms });

/**
 * After the diff: puts the feed's clock (`feedClock`) between the changes, so the hub closes
 * the bars whose end the feed's time passed when no later frame would. The hub folds each
 * quote into its bars itself (see `BarStore`), so every hub makes the same bars from the events
 * it holds, and a replay at any speed yields the same bars.
 */
export const withBarClock =
  (clock$: Observable<number>): OperatorFunction<Change, Change> =>
  (changes$) =>
    // The clock is subscribed first: a source that emits at once sets it as it goes.
    merge(clock$.pipe(map(tick)), changes$);
