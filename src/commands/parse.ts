import { text } from 'node:stream/consumers';
import { TickstreamError } from '../errors.ts';
import { parseFlags } from '../options.ts';
import { parseText } from '../parse/parse-text.ts';
import { formatStats, newParseStats } from '../parse/stats.ts';
import { readFeed, splitFrames } from '../source/feed-file.ts';
import type { Frame } from '../source/frame.ts';

/** `tickstream help parse`: its flags. */
export const parseHelp = `  --stats            print counts of quotes, headlines, rejected, suspect and noise lines to stderr`;

const readFrames = async (path: string | undefined): Promise<Frame[]> => {
  if (path === undefined || path === '-') return splitFrames(await text(process.stdin), 'stdin');
  try {
    return readFeed(path);
  } catch (err) {
    throw new TickstreamError('feed_unreadable', `cannot read feed "${path}": ${(err as Error).message}`, {
      cause: err,
    });
  }
};

/**
 * `tickstream parse [FILE] [--stats]`: prints the events a feed holds as NDJSON, each with
 * the `origin` of its frame (file and line of the frame's start; `line` counts within the frame).
 */
export const parseCommand = async (args: string[]) => {
  const { values, positionals } = parseFlags(args, { stats: { type: 'boolean' } }, { positionals: true });
  if (positionals.length > 1)
    throw new TickstreamError('bad_usage', `parse reads one FILE, got ${positionals.length}`);
  const stats = newParseStats();
  for (const frame of await readFrames(positionals[0])) {
    const out = parseText(frame.text, stats).map((event) =>
      JSON.stringify({ ...event, origin: frame.origin }),
    );
    if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
  }
  if (values.stats) process.stderr.write(`${formatStats(stats)}\n`);
};
