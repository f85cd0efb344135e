import type { Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import {
  asyncScheduler,
  defer,
  finalize,
  mergeMap,
  repeat,
  Subject,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';

/** How a followed file is checked. */
export interface FollowOptions {
  pollMs: number;
  /** Longest wait between checks while the file cannot be read (the wait doubles from `pollMs`). */
  maxBackoffMs?: number;
  /**
   * Most bytes one check reads: a file followed from the start of a long day is read a piece at
   * a time, each parsed before the next is read, instead of in one buffer as large as the file.
   */
  maxReadBytes?: number;
  scheduler?: SchedulerLike;
}

/** A followed file's bytes, and whether it cannot be read right now. */
export interface FollowedFile {
  bytes$: Observable<Buffer>;
  /** `true` when checks start failing (missing, unreadable), `false` once one succeeds again. */
  failing$: Observable<boolean>;
}

/** What one check found: new bytes, the error that stopped it, and whether more is there to read. */
interface Check {
  chunks: Buffer[];
  fault?: Error;
  more?: boolean;
}

const MAX_READ_BYTES = 8 * 1024 * 1024;

/** Bytes kept from before the read position, to tell a file rewritten in place (copytruncate). */
const TAIL_BYTES = 64;
const NEWLINE = Buffer.from('\n');

const sameFile = (a: Stats, b: Pick<Stats, 'dev' | 'ino'> | undefined) =>
  b !== undefined && a.dev === b.dev && a.ino === b.ino;

/**
 * Where a follower is in a file, kept by descriptor as `tail -F` does: a file renamed away
 * (logrotate's `create`) or deleted is read to its end before the new one at the path is
 * opened, once that one has data (the writer has moved over). A file that shrank or whose bytes
 * before the position changed (`copytruncate`) is read again from its start.
 */
class FileCursor {
  private handle: FileHandle | undefined;
  /** The file being followed; kept across a failed read, so a reopen continues where it was. */
  private id: Pick<Stats, 'dev' | 'ino'> | undefined;
  private offset = 0;
  private tail = Buffer.alloc(0);
  /** Whether the bytes yielded so far end a line: a new file must not continue a cut one. */
  private endsLine = true;
  private closed = false;
  /** The last read stopped at `maxReadBytes` before the end of the file. */
  private behind = false;

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    private readonly maxReadBytes: number,
  ) {}

  async check(): Promise<Check> {
    const chunks: Buffer[] = [];
    try {
      if (this.handle) chunks.push(...(await this.drain(this.handle)));
      // The rest of this file first; whether it was replaced is asked once it is read.
      if (this.behind) return { chunks, more: true };
      let named: Stats;
      try {
        named = await stat(this.path);
      } catch (err) {
        // Gone (deleted, or renamed and not yet created again): what the open file holds was read.
        return { chunks, fault: err as Error };
      }
      if (this.handle && sameFile(named, this.id)) return { chunks };
      // A new, empty file at the path: the writer still appends to the old one until it reopens.
      if (this.handle && named.isFile() && named.size === 0) return { chunks };
      if (this.handle) {
        // The old file to its end, before the new one: nothing the writer put there is lost.
        do chunks.push(...(await this.drain(this.handle)));
        while (this.behind);
        await this.closeHandle();
        this.log.info(
          { file: this.path },
          'followed file was replaced (rotated or recreated); reading the new one',
        );
      }
      const handle = await this.open();
      chunks.push(...(await this.drain(handle)));
      return { chunks, more: this.behind };
    } catch (err) {
      // Reopened by name at the next check; the position is kept if it is the same file.
      await this.closeHandle();
      return { chunks, fault: err as Error };
    }
  }

  private async open(): Promise<FileHandle> {
    const handle = await open(this.path, 'r');
    if (this.closed) {
      await handle.close();
      throw new Error('follower closed');
    }
    const opened = await handle.stat();
    this.handle = handle;
    if (!sameFile(opened, this.id)) {
      this.id = { dev: opened.dev, ino: opened.ino };
      this.offset = 0;
      this.tail = Buffer.alloc(0);
    }
    return handle;
  }

  /** The bytes appended since the last read, checking first that the file was not rewritten. */
  private async drain(handle: FileHandle): Promise<Buffer[]> {
    const { size } = await handle.stat();
    if (size < this.offset)
      return this.startOver(handle, 'followed file shrank (truncated, or copytruncate)');
    this.behind = size - this.offset > this.maxReadBytes;
    if (size === this.offset) return [];
    const back = this.tail.length;
    const buffer = Buffer.alloc(Math.min(size - this.offset, this.maxReadBytes) + back);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset - back);
    const read = buffer.subarray(0, bytesRead);
    if (!read.subarray(0, back).equals(this.tail))
      return this.startOver(handle, 'followed file was rewritten in place (copytruncate)');
    const fresh = read.subarray(back);
    if (fresh.length === 0) return [];
    this.offset += fresh.length;
    this.tail = Buffer.from(Buffer.concat([this.tail, fresh]).subarray(-TAIL_BYTES));
    this.endsLine = fresh[fresh.length - 1] === 0x0a;
    return [fresh];
  }

  /** Reads the file again from its start; a line cut by the rewrite is ended first. */
  private async startOver(handle: FileHandle, why: string): Promise<Buffer[]> {
    this.log.warn({ file: this.path, offset: this.offset }, `${why}; reading it again from the start`);
    const cut = this.endsLine ? [] : [NEWLINE];
    this.offset = 0;
    this.tail = Buffer.alloc(0);
    this.endsLine = true;
    return [...cut, ...(await this.drain(handle))];
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.closeHandle();
  }
}

/**
 * The bytes appended to `path`, checked every `pollMs` (from the start of the file, so the
 * latest state is read in full). It survives log rotation both ways (rename and create;
 * copytruncate), a file deleted and created again, and read errors: a failing check is
 * retried with doubling backoff up to `maxBackoffMs`, and `failing$` says so meanwhile.
 */
export const followFile = (
  path: string,
  log: Logger,
  {
    pollMs,
    maxBackoffMs = Math.max(pollMs, 10_000),
    maxReadBytes = MAX_READ_BYTES,
    scheduler = asyncScheduler,
  }: FollowOptions,
): FollowedFile => {
  const failing = new Subject<boolean>();
  const bytes$ = defer(() => {
    const cursor = new FileCursor(path, log, maxReadBytes);
    let failures = 0;
    let more = false;
    let lastCode: string | undefined;
    const waitMs = () => (failures === 0 ? pollMs : Math.min(pollMs * 2 ** (failures - 1), maxBackoffMs));
    const report = ({ fault }: Check) => {
      if (!fault) {
        if (failures > 0) {
          log.info({ file: path, failures }, 'followed file can be read again');
          failing.next(false);
        }
        failures = 0;
        lastCode = undefined;
        return;
      }
      failures++;
      const code = (fault as NodeJS.ErrnoException).code;
      const fields = { file: path, err: fault, attempt: failures, retryInMs: waitMs() };
      // One warning per kind of fault; the retries under it are debug lines.
      if (failures === 1 || code !== lastCode)
        log.warn(fields, 'followed file cannot be read; retrying with backoff, status stale meanwhile');
      else log.debug(fields, 'followed file still cannot be read');
      lastCode = code;
      if (failures === 1) failing.next(true);
    };
    return defer(() => cursor.check()).pipe(
      mergeMap((check) => {
        report(check);
        more = check.more === true;
        return check.chunks;
      }),
      // A file read only in part goes on at once: the pieces queued behind it are the file's own.
      repeat({ delay: () => timer(more ? 0 : waitMs(), scheduler) }),
      finalize(() => void cursor.close()),
    );
  });
  return { bytes$, failing$: failing.asObservable() };
};
