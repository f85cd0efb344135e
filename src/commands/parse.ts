import { buffer } from 'node:stream/consumers';
import type { Logger } from 'pino';
import { TickstreamError } from '../errors.ts';
import { createLogger, logFlags, logHelp, logLevel } from '../log.ts';
import { parseFlags } from '../options.ts';
import { parseText } from '../parse/parse-text.ts';
import { formatStats, newParseStats } from '../parse/stats.ts';
import { feedText, readFeed, splitFrames } from '../source/feed-file.ts';
import type { Frame } from '../source/frame.ts';

/** `tickstream help parse`: its flags. */
export const parseHelp = `  --stats            print counts of quotes, headlines, rejected, suspect and noise lines to stderr
${logHelp}`;

const readFrames = async (path: string | undefined, log: Logger): Promise<Frame[]> => {
  if (path === undefined || path === '-')
    return splitFrames(feedText(await buffer(process.stdin), 'stdin', log), 'stdin', log);
  try {
    return readFeed(path, log);
  } catch (err) {
    throw new TickstreamError('feed_unreadable', `cannot read feed "${path}": ${(err as Error).message}`, {
      cause: err,
    });
  }
};

/** Writes to stdout, settled once written: backpressure, and the error of a reader gone away. */
const write = (chunk: string) =>
  new Promise<void>((resolve, reject) =>
    process.stdout.write(chunk, (err) => (err ? reject(err) : resolve())),
  );

/**
 * `tickstream parse [FILE] [--stats]`: prints the events a feed holds as NDJSON, each with
 * the `origin` of its frame (file and line of the frame's start; `line` counts within the frame).
 * Damaged input (a cut gzip, a partial NDJSON line) is logged on stderr with file and line.
 */
export const parseCommand = async (args: string[]) => {
  const { values, positionals } = parseFlags(
    args,
    { stats: { type: 'boolean' }, ...logFlags },
    { positionals: true },
  );
  if (positionals.length > 1)
    throw new TickstreamError('bad_usage', `parse reads one FILE, got ${positionals.length}`);
  const log = createLogger(logLevel(values));
  const stats = newParseStats();
  // A failed write also rejects its callback below; this keeps the event from crashing the process.
  process.stdout.on('error', () => {});
  try {
    for (const frame of await readFrames(positionals[0], log)) {
      const out = parseText(frame.text, stats).map((event) =>
        JSON.stringify({ ...event, origin: frame.origin }),
      );
      if (out.length > 0) await write(`${out.join('\n')}\n`);
    }
  } catch (err) {
    // A closed pipe (`parse | head`) ends parse quietly, as it ends tail.
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return;
    throw err;
  }
  if (values.stats) process.stderr.write(`${formatStats(stats)}\n`);
};
