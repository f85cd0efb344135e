import type { Logger } from 'pino';
import type { Frame } from './frame.ts';

const MARKER = /^@@(.*)$/;

/** How a feed's lines are laid out: `@@`-framed page text, or the NDJSON that `record` writes. */
export type FeedFormat = 'text' | 'ndjson';

/** One line of a recording: a whole frame with the time it was captured. */
export interface RecordedFrame {
  capturedAt: string;
  text: string;
}

// `new Date` alone also takes legacy forms ("not-a-time-12" is 2001-12-01), so the stamp must
// look like ISO-8601 (a date, optionally a time and an offset) before it is read.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO-8601 stamp as a Date; undefined for anything else, legacy forms `new Date` takes included. */
export const parseTime = (stamp: string): Date | undefined => {
  const time = ISO_8601.test(stamp) ? new Date(stamp) : undefined;
  return time && !Number.isNaN(time.getTime()) ? time : undefined;
};

/**
 * Builds frames from a feed's lines as they arrive, for files and live streams alike. The
 * format is decided by the first non-blank line: `{` starts an NDJSON recording, anything
 * else is page text where `@@ <ISO time>` starts a frame. A line that breaks the format is
 * logged with its origin and line number and the feed goes on.
 */
export class FrameAssembler {
  private format: FeedFormat | undefined;
  private lines: string[] = [];
  private capturedAt: Date | undefined;
  private startLine = 1;
  private lineNo = 0;

  constructor(
    private readonly origin: string,
    private readonly log?: Logger,
  ) {}

  /** Takes the next line (without its newline); returns the frames it completes. */
  push(line: string): Frame[] {
    this.lineNo++;
    if (this.format === undefined) {
      if (line.trim() === '') return [];
      this.format = line.trimStart().startsWith('{') ? 'ndjson' : 'text';
    }
    return this.format === 'ndjson' ? this.pushRecord(line) : this.pushText(line);
  }

  /** Ends the input: returns the frame still being read, if it holds any text. */
  end(): Frame[] {
    const body = this.lines.join('\n');
    this.lines = [];
    if (body.trim() === '') return [];
    return [
      {
        text: body,
        ...(this.capturedAt && { capturedAt: this.capturedAt }),
        origin: this.at(this.startLine),
      },
    ];
  }

  /** The line number of the last line pushed. */
  get line(): number {
    return this.lineNo;
  }

  private at(line: number): string {
    return `${this.origin}:${line}`;
  }

  private pushText(line: string): Frame[] {
    const m = MARKER.exec(line);
    if (!m) {
      this.lines.push(line);
      return [];
    }
    const done = this.end();
    this.startLine = this.lineNo;
    const stamp = m[1]!.trim();
    this.capturedAt = parseTime(stamp);
    if (!this.capturedAt)
      this.log?.warn(
        { file: this.origin, line: this.lineNo, marker: line },
        'frame marker has no valid ISO-8601 time; frame kept without a time',
      );
    return done;
  }

  private pushRecord(line: string): Frame[] {
    if (line.trim() === '') return [];
    let record: Partial<RecordedFrame> | undefined;
    try {
      record = JSON.parse(line) as Partial<RecordedFrame>;
    } catch {
      // The usual cause is a recorder that died mid-write: only its last line is cut.
      this.log?.warn(
        { file: this.origin, line: this.lineNo, text: line.slice(0, 80) },
        'recording line is not whole JSON (cut by a crash?); skipped',
      );
      return [];
    }
    if (typeof record?.text !== 'string') {
      this.log?.warn({ file: this.origin, line: this.lineNo }, 'recording line has no "text"; skipped');
      return [];
    }
    const capturedAt = typeof record.capturedAt === 'string' ? parseTime(record.capturedAt) : undefined;
    if (!capturedAt)
      this.log?.warn(
        { file: this.origin, line: this.lineNo, capturedAt: record.capturedAt },
        'recording line has no valid capturedAt; frame kept without a time',
      );
    return [{ text: record.text, ...(capturedAt && { capturedAt }), origin: this.at(this.lineNo) }];
  }
}
