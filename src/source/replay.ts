import {
  asyncScheduler,
  concatMap,
  defer,
  from,
  map,
  of,
  repeat,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import type { Frame } from './frame.ts';

/** Pacing of a replay: speed, spacing of untimed frames, loop, clock. */
export interface ReplayOptions {
  /** Divides the recorded spacing; 0 replays as fast as possible. */
  speed: number;
  /** Spacing in ms for frames that carry no capture time. */
  intervalMs: number;
  loop: boolean;
  scheduler?: SchedulerLike;
  /**
   * Go on after this capture time (ISO-8601, as shifted by a loop's passes): earlier frames
   * are skipped without waiting for their timers, so a restarted server carries on at once.
   */
  resumeAfter?: string;
}

const WEEK_MS = 7 * 24 * 3_600_000;

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
 * How far each pass of a loop moves the capture times: whole weeks, at least the feed's span,
 * so a client never sees `ts` go backwards and every pass falls on the same weekday and time
 * of day (the market calendar reads the same on each pass).
 */
export const loopShiftMs = (frames: readonly Frame[]): number => {
  const times = frames.flatMap((f) => (f.capturedAt ? [f.capturedAt.getTime()] : []));
  if (times.length === 0) return 0;
  const span = Math.max(...times) - Math.min(...times);
  return (Math.floor(span / WEEK_MS) + 1) * WEEK_MS;
};

const shifted = (frame: Frame, ms: number): Frame =>
  ms === 0 || !frame.capturedAt ? frame : { ...frame, capturedAt: new Date(frame.capturedAt.getTime() + ms) };

/** Where a replay goes on after `after`: the pass and the first frame in it not captured before. */
export const resumePoint = (
  frames: readonly Frame[],
  shiftMs: number,
  after: string,
): { pass: number; index: number } => {
  const first = frames.find((f) => f.capturedAt)?.capturedAt?.getTime();
  const pass =
    first === undefined || shiftMs === 0 ? 0 : Math.max(0, Math.floor((Date.parse(after) - first) / shiftMs));
  // Like skipPublished: only leading frames captured before `after` are skipped.
  const published = (f: Frame) =>
    f.capturedAt !== undefined && shifted(f, shiftMs * pass).capturedAt!.toISOString() < after;
  const index = frames.findIndex((f) => !published(f));
  if (index >= 0) return { pass, index };
  return shiftMs === 0 ? { pass, index: frames.length } : { pass: pass + 1, index: 0 };
};

/**
 * Replays frames with their recorded spacing, in the scheduler's time so tests run virtually.
 * A loop waits one interval between the last frame and the first, and shifts each pass's
 * capture times by `loopShiftMs`.
 */
export const replay = (frames: readonly Frame[], options: ReplayOptions): Observable<Frame> => {
  const scheduler = options.scheduler ?? asyncScheduler;
  const delays = frameDelays(frames, options);
  const shiftMs = options.loop ? loopShiftMs(frames) : 0;
  const start =
    options.resumeAfter === undefined
      ? { pass: 0, index: 0 }
      : resumePoint(frames, shiftMs, options.resumeAfter);
  const pass = (n: number, fromIndex: number) =>
    from(
      frames.slice(fromIndex).map((frame, i) => ({
        frame: shifted(frame, shiftMs * n),
        delay: i === 0 ? 0 : delays[fromIndex + i]!,
      })),
    ).pipe(
      concatMap(({ frame, delay }) =>
        delay > 0 ? timer(delay, scheduler).pipe(map(() => frame)) : of(frame),
      ),
    );
  if (!options.loop || frames.length === 0) return pass(0, start.index);
  // Even at speed 0 the pause is a real timer, so an endless loop still yields to I/O.
  const gap = options.speed === 0 ? 0 : options.intervalMs;
  return defer(() => {
    let passes = start.pass;
    let fromIndex = start.index;
    return defer(() => {
      const next = pass(passes++, fromIndex);
      fromIndex = 0;
      return next;
    }).pipe(repeat({ delay: () => timer(gap, scheduler) }));
  });
};
