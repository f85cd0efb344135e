import { asyncScheduler, BehaviorSubject, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { SourceState } from '../protocol/messages.ts';
import type { Frame } from './frame.ts';

/** A source's frames and its state: `running`, `stale` when frames stop coming, `ended`. */
export interface TrackedFrames {
  frames$: Observable<Frame>;
  /** The current state, then every change; follows the subscription to `frames$`. */
  state$: Observable<SourceState>;
}

/** When a source counts as stale, and on which clock. */
export interface StateOptions {
  /** `stale` when no frame arrived for this long; unset for sources that cannot stall (replay). */
  staleAfterMs?: number;
  /**
   * A source that retries its faults itself says here when it starts (`true`) and stops failing:
   * `stale` at once meanwhile, whatever frames it still yields, and `running` again after.
   */
  failing$?: Observable<boolean>;
  scheduler?: SchedulerLike;
}

/**
 * Watches a source's frames: `running` while they come, `stale` after `staleAfterMs` without
 * one, while `failing$` says so, or when the source fails; `ended` when it completes. The one
 * place source state is set.
 */
export const trackState = (
  source$: Observable<Frame>,
  { staleAfterMs, failing$, scheduler = asyncScheduler }: StateOptions = {},
): TrackedFrames => {
  const state = new BehaviorSubject<SourceState>('running');
  const set = (next: SourceState) => {
    if (state.value !== next) state.next(next);
  };
  const frames$ = new Observable<Frame>((subscriber) => {
    let staleTimer: Subscription | undefined;
    const arm = () => {
      staleTimer?.unsubscribe();
      if (staleAfterMs !== undefined) staleTimer = scheduler.schedule(() => set('stale'), staleAfterMs);
    };
    let failing = false;
    set('running');
    arm();
    const faults = failing$?.subscribe((now) => {
      failing = now;
      if (now) staleTimer?.unsubscribe();
      else arm();
      set(now ? 'stale' : 'running');
    });
    const upstream = source$.subscribe({
      next: (frame) => {
        // State first: a status subscriber should see `running` before the frame's events.
        if (!failing) {
          set('running');
          arm();
        }
        subscriber.next(frame);
      },
      error: (err: unknown) => {
        staleTimer?.unsubscribe();
        set('stale');
        subscriber.error(err);
      },
      complete: () => {
        staleTimer?.unsubscribe();
        set('ended');
        subscriber.complete();
      },
    });
    return () => {
      staleTimer?.unsubscribe();
      faults?.unsubscribe();
      upstream.unsubscribe();
    };
  });
  return { frames$, state$: state.asObservable() };
};
