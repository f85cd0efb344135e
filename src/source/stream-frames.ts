import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { asyncScheduler, Observable, takeUntil, type SchedulerLike, type Subscription } from 'rxjs';
import { splitLines } from '../parse/split-lines.ts';
import { FrameAssembler } from './frame-assembler.ts';
import type { Frame } from './frame.ts';

/** The chunks a readable stream yields; unsubscribing stops listening (the stream stays open). */
export const fromReadable = (stream: Readable): Observable<Buffer | string> =>
  new Observable((subscriber) => {
    const onData = (chunk: Buffer | string) => subscriber.next(chunk);
    const onEnd = () => subscriber.complete();
    const onError = (err: Error) => subscriber.error(err);
    stream.on('data', onData).on('end', onEnd).on('error', onError);
    return () => {
      stream.off('data', onData).off('end', onEnd).off('error', onError);
      stream.pause();
    };
  });

/** How a live reader decides a `@@` frame is whole. */
export interface LiveFrameOptions {
  /**
   * In `@@` text a frame is known to be whole only when the next marker arrives; after this
   * long without a new line the frame read so far is emitted, so a live feed does not lag a
   * frame behind. Unset: wait for the marker or the end of input.
   */
  flushAfterMs?: number;
  scheduler?: SchedulerLike;
  /**
   * Ends the input when it emits, as its end would: the frame read so far is emitted first
   * (a recording stopped by a signal keeps it), where unsubscribing would drop it.
   */
  until?: Observable<unknown>;
}

/** Lines of a live feed (`@@` text or NDJSON) to frames, with `origin` and line in log lines. */
export const linesToFrames =
  (origin: string, log: Logger, { flushAfterMs, scheduler = asyncScheduler, until }: LiveFrameOptions = {}) =>
  (lines$: Observable<string>): Observable<Frame> =>
    new Observable<Frame>((subscriber) => {
      const assembler = new FrameAssembler(origin, log);
      let quiet: Subscription | undefined;
      const emit = (frames: Frame[]) => frames.forEach((frame) => subscriber.next(frame));
      const input$ = until ? lines$.pipe(takeUntil(until)) : lines$;
      const upstream = input$.subscribe({
        next: (line) => {
          quiet?.unsubscribe();
          emit(assembler.push(line));
          if (flushAfterMs !== undefined)
            quiet = scheduler.schedule(() => emit(assembler.end()), flushAfterMs);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          quiet?.unsubscribe();
          emit(assembler.end());
          subscriber.complete();
        },
      });
      return () => {
        quiet?.unsubscribe();
        upstream.unsubscribe();
      };
    });

/** A live feed read from a byte stream such as stdin. */
export const streamFrames = (
  stream: Readable,
  origin: string,
  log: Logger,
  options: LiveFrameOptions = {},
): Observable<Frame> => fromReadable(stream).pipe(splitLines(), linesToFrames(origin, log, options));
