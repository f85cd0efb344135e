import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Observable, SchedulerLike } from 'rxjs';
import { TickstreamError } from '../errors.ts';
import { duration, num, str, type FlagValues } from '../options.ts';
import { readFeed } from './feed-file.ts';
import type { Frame } from './frame.ts';
import { replay } from './replay.ts';

/** The feed `npm start` replays when no --feed is given. */
export const BUNDLED_FEED = fileURLToPath(new URL('../../replay/session.txt', import.meta.url));

/** parseArgs descriptors for the source flags, shared by `serve` and `record`. */
export const sourceFlags = {
  feed: { type: 'string' },
  speed: { type: 'string' },
  interval: { type: 'string' },
  loop: { type: 'boolean' },
} as const;

export const sourceHelp = `  --feed PATH        saved feed: capture file, @@-framed text or a directory (default: bundled replay)
  --speed N          replay speed: recorded spacing divided by N; 0 = as fast as possible (default 1)
  --interval MS      spacing of frames that carry no time (default 2000)
  --loop             start again at the end`;

export interface SourceConfig {
  feed: string;
  speed: number;
  intervalMs: number;
  loop: boolean;
}

export const sourceConfig = (values: FlagValues): SourceConfig => ({
  feed: str(values, 'feed') ?? BUNDLED_FEED,
  speed: num(values, 'speed', 1, { min: 0 }),
  intervalMs: duration(values, 'interval', 2000),
  loop: values.loop === true,
});

export interface OpenedSource {
  /** A short name for `status.source`. */
  kind: string;
  frames$: Observable<Frame>;
}

/** Opens the configured source; a feed that cannot be read fails here, before serving. */
export const openSource = (config: SourceConfig, log: Logger, scheduler?: SchedulerLike): OpenedSource => {
  let frames: Frame[];
  try {
    frames = readFeed(config.feed, log);
  } catch (cause) {
    throw new TickstreamError(
      'feed_unreadable',
      `cannot read feed ${config.feed}: ${(cause as Error).message}`,
      { cause },
    );
  }
  log.info(
    { feed: config.feed, frames: frames.length, speed: config.speed, loop: config.loop },
    'replaying feed',
  );
  return { kind: 'replay', frames$: replay(frames, { ...config, ...(scheduler && { scheduler }) }) };
};
