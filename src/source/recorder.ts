import { closeSync, fdatasyncSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Observable, type OperatorFunction } from 'rxjs';
import type { RecordedFrame } from './frame-assembler.ts';
import type { Frame } from './frame.ts';

/** Where a frame went: the day file and its capture time. */
export interface RecordedLine {
  file: string;
  capturedAt: string;
}

const writeAll = (fd: number, bytes: Buffer) => {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done);
};

/** Opens a day file for appending; a line cut by an earlier crash is closed off first. */
const openDayFile = (file: string): number => {
  const fd = openSync(file, 'a+');
  const size = fstatSync(fd).size;
  const last = Buffer.alloc(1);
  // The cut line stays on its own line, where the reader skips it, instead of swallowing ours.
  if (size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a)
    writeAll(fd, Buffer.from('\n'));
  return fd;
};

/**
 * Writes each frame as one NDJSON line `{"capturedAt","text"}` to `DIR/YYYY-MM-DD.ndjson`
 * (UTC date of the capture; frames without a time get `now`). Each line goes out in one
 * piece and is flushed to disk before the next frame, so a crash loses at most that line.
 */
export const recordFrames =
  (dir: string, now: () => number = Date.now): OperatorFunction<Frame, RecordedLine> =>
  (frames$) =>
    new Observable<RecordedLine>((subscriber) => {
      let day: string | undefined;
      let fd: number | undefined;
      const close = () => {
        if (fd !== undefined) closeSync(fd);
        fd = undefined;
      };
      const write = (frame: Frame): RecordedLine => {
        const capturedAt = (frame.capturedAt ?? new Date(now())).toISOString();
        const file = join(dir, `${capturedAt.slice(0, 10)}.ndjson`);
        if (capturedAt.slice(0, 10) !== day || fd === undefined) {
          close();
          mkdirSync(dir, { recursive: true });
          fd = openDayFile(file);
          day = capturedAt.slice(0, 10);
        }
        const record: RecordedFrame = { capturedAt, text: frame.text };
        writeAll(fd, Buffer.from(`${JSON.stringify(record)}\n`));
        fdatasyncSync(fd);
        return { file, capturedAt };
      };
      const upstream = frames$.subscribe({
        next: (frame) => {
          let line: RecordedLine;
          try {
            line = write(frame);
          } catch (err) {
            close();
            subscriber.error(err);
            return;
          }
          subscriber.next(line);
        },
        error: (err: unknown) => {
          close();
          subscriber.error(err);
        },
        complete: () => {
          close();
          subscriber.complete();
        },
      });
      return () => {
        upstream.unsubscribe();
        close();
      };
    });
