import {
  asyncScheduler,
  concatMap,
  from,
  map,
  of,
  repeat,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import type { Frame } from './frame.ts';

export interface ReplayOptions {
  /** Divides the recorded spacing; 0 replays as fast as possible. */
  speed: number;
  /** Spacing in ms for frames that carry no capture time. */
  intervalMs: number;
  loop: boolean;
  scheduler?: SchedulerLike;
}

/** Milliseconds to wait before each frame: recorded spacing / speed, or the interval. */
export const frameDelays = (
  frames: readonly Frame[],
  { speed, intervalMs }: Pick<ReplayOptions, 'speed' | 'intervalMs'>,
): number[] =>
  frames.map((frame, i) => {
    if (i === 0 || speed === 0) return 0;
    const prev = frames[i - 1]!;
    if (frame.capturedAt && prev.capturedAt) {
      return Math.max(0, (frame.capturedAt.getTime() - prev.capturedAt.getTime()) / speed);
    }
    return intervalMs;
  });

/**
 * Replays frames with their recorded spacing, in the scheduler's time so tests run virtually.
 * A loop waits one interval between the last frame and the first.
 */
export const replay = (frames: readonly Frame[], options: ReplayOptions): Observable<Frame> => {
  const scheduler = options.scheduler ?? asyncScheduler;
  const delays = frameDelays(frames, options);
  const once = from(frames.map((frame, i) => ({ frame, delay: delays[i]! }))).pipe(
    concatMap(({ frame, delay }) => (delay > 0 ? timer(delay, scheduler).pipe(map(() => frame)) : of(frame))),
  );
  if (!options.loop || frames.length === 0) return once;
  // Even at speed 0 the pause is a real timer, so an endless loop still yields to I/O.
  const gap = options.speed === 0 ? 0 : options.intervalMs;
  return once.pipe(repeat({ delay: () => timer(gap, scheduler) }));
};
