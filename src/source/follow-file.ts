import { open, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { asyncScheduler, defer, exhaustMap, filter, timer, type Observable, type SchedulerLike } from 'rxjs';

/**
 * The bytes appended to `path`, checked every `pollMs` (from the start of the file, so the
 * latest state is read in full). A file that shrinks was truncated or replaced: it is read
 * again from the start. A missing file is logged once and waited for.
 */
export const followFile = (
  path: string,
  pollMs: number,
  log: Logger,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<Buffer> =>
  defer(() => {
    let offset = 0;
    let missing = false;
    const readNew = async (): Promise<Buffer | undefined> => {
      let size: number;
      try {
        size = (await stat(path)).size;
      } catch (err) {
        if (!missing) log.warn({ file: path, err }, 'followed file cannot be read; waiting for it');
        missing = true;
        return undefined;
      }
      missing = false;
      if (size < offset) {
        log.warn(
          { file: path, size, offset },
          'followed file shrank (truncated or replaced); reading it again',
        );
        offset = 0;
      }
      if (size === offset) return undefined;
      const file = await open(path, 'r');
      try {
        const buffer = Buffer.alloc(size - offset);
        const { bytesRead } = await file.read(buffer, 0, buffer.length, offset);
        offset += bytesRead;
        return buffer.subarray(0, bytesRead);
      } finally {
        await file.close();
      }
    };
    return timer(0, pollMs, scheduler).pipe(
      exhaustMap(readNew),
      filter((chunk): chunk is Buffer => chunk !== undefined),
    );
  });
