import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { takeUntil, type Observable, type SchedulerLike } from 'rxjs';
import { TickstreamError } from '../errors.ts';
import { duration, flagName, num, str, type FlagValues } from '../options.ts';
import { packagePath } from '../package.ts';
import type { SourceState } from '../protocol/messages.ts';
import { readFeed } from './feed-file.ts';
import { followFile } from './follow-file.ts';
import type { Frame } from './frame.ts';
import { pollPage } from './poll-page.ts';
import { replay } from './replay.ts';
import { trackState } from './source-state.ts';
import { linesToFrames, streamFrames } from './stream-frames.ts';
import { inWindow, isEmptyWindow, parseTimeBound, type TimeBound } from './time-window.ts';
import { splitLines } from '../parse/split-lines.ts';

/** The feed `npm start` replays when no --feed is given. */
export const BUNDLED_FEED = packagePath('replay/session.txt.gz');

/** parseArgs descriptors for the source flags, shared by `serve` and `record`. */
export const sourceFlags = {
  feed: { type: 'string' },
  follow: { type: 'string' },
  source: { type: 'string' },
  poll: { type: 'string' },
  'stale-after': { type: 'string' },
  speed: { type: 'string' },
  interval: { type: 'string' },
  loop: { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
} as const;

/** The source flags' lines in `--help`. */
export const sourceHelp = `  --feed PATH        saved feed: capture file, @@-framed text, NDJSON recording (.gz too) or
                     a directory of them; - reads stdin (default: bundled replay)
  --follow FILE      tail a file another program appends captures to
  --source URL       fetch an HTML page every --poll and read its text as a frame
  --poll D           how often --source is fetched / --follow checks its file (default 5s / 1s)
  --stale-after D    status "stale" when a live source sends no frame this long (default 3 polls, at least 1m)
  --speed N          replay speed: recorded spacing divided by N; 0 = as fast as possible (default 1)
  --interval MS      spacing of frames that carry no time (default 2000)
  --loop             start again at the end (each pass's times move on by whole weeks)
  --from T, --to T   replay only frames captured in [from, to): ISO-8601, or HH:MM Asia/Karachi`;

/** Which source to open and how to pace it. */
export interface SourceConfig {
  /** A saved feed's path, or `-` for stdin. */
  feed: string;
  follow?: string;
  url?: string;
  pollMs?: number;
  staleAfterMs?: number;
  speed: number;
  intervalMs: number;
  loop: boolean;
  from?: TimeBound;
  to?: TimeBound;
}

// fetch takes only these; anything else would fail every poll, forever, instead of at start.
const isHttpUrl = (raw: string): boolean => {
  try {
    return /^https?:$/.test(new URL(raw).protocol);
  } catch {
    return false;
  }
};

/** Reads the source flags; more than one of --feed, --follow and --source is an error. */
export const sourceConfig = (values: FlagValues): SourceConfig => {
  const chosen = (['feed', 'follow', 'source'] as const).filter((name) => str(values, name) !== undefined);
  if (chosen.length > 1)
    throw new TickstreamError(
      'bad_config',
      `use one of --feed, --follow and --source, not ${chosen.map((name) => `--${name}`).join(' and ')}`,
    );
  const url = str(values, 'source');
  if (url !== undefined && !isHttpUrl(url))
    throw new TickstreamError(
      'bad_config',
      `${flagName(values, 'source')} must be an http:// or https:// URL, got "${url}"`,
    );
  if (str(values, 'poll') !== undefined && duration(values, 'poll', 0) < 10)
    throw new TickstreamError(
      'bad_config',
      `${flagName(values, 'poll')} must be at least 10ms, got "${str(values, 'poll')}"`,
    );
  // 0 would call the source stale the moment after each frame.
  if (str(values, 'stale-after') !== undefined && duration(values, 'stale-after', 0) <= 0)
    throw new TickstreamError(
      'bad_config',
      `${flagName(values, 'stale-after')} must be longer than 0: how long without a frame before the source is called stale`,
    );
  const window = timeWindow(str(values, 'from'), str(values, 'to'));
  return {
    feed: str(values, 'feed') ?? BUNDLED_FEED,
    ...(str(values, 'follow') !== undefined && { follow: str(values, 'follow') }),
    ...(str(values, 'source') !== undefined && { url: str(values, 'source') }),
    ...(str(values, 'poll') !== undefined && { pollMs: duration(values, 'poll', 0) }),
    ...(str(values, 'stale-after') !== undefined && { staleAfterMs: duration(values, 'stale-after', 0) }),
    speed: num(values, 'speed', 1, { min: 0 }),
    intervalMs: duration(values, 'interval', 2000),
    loop: values.loop === true,
    ...window,
  };
};

/** `--from`/`--to` read, refused when they keep nothing: an empty window would replay no frame. */
const timeWindow = (fromRaw: string | undefined, toRaw: string | undefined) => {
  const from = fromRaw === undefined ? undefined : parseTimeBound('from', fromRaw);
  const to = toRaw === undefined ? undefined : parseTimeBound('to', toRaw);
  if (from && to && isEmptyWindow(from, to))
    throw new TickstreamError(
      'bad_config',
      `--from must be before --to, got --from ${fromRaw} and --to ${toRaw}`,
    );
  return { ...(from && { from }), ...(to && { to }) };
};

/** A source ready to subscribe to. */
export interface OpenedSource {
  /** A short name for `status.source`. */
  kind: string;
  frames$: Observable<Frame>;
  /** `running`, `stale` or `ended`, following the subscription to `frames$`; unset: see `trackState`. */
  state$?: Observable<SourceState>;
  /** The same source going on after a capture time at once (a replay restarted on its data dir). */
  resume?: (after: string) => Pick<OpenedSource, 'frames$' | 'state$'>;
}

// A scraper writes a capture in one go; this much quiet means the `@@` frame read so far is whole.
const STDIN_FLUSH_MS = 500;
const stalenessOf = (config: SourceConfig, pollMs: number) =>
  config.staleAfterMs ?? Math.max(3 * pollMs, 60_000);

/** How a source is opened beside its flags: tests pass their own clock and stdin. */
export interface OpenOptions {
  scheduler?: SchedulerLike;
  stdin?: Readable;
  /** Ends the source when it emits, keeping a live feed's frame read so far (see `LiveFrameOptions`). */
  until?: Observable<unknown>;
}

const endedBy =
  (until: Observable<unknown> | undefined) =>
  (frames$: Observable<Frame>): Observable<Frame> =>
    until ? frames$.pipe(takeUntil(until)) : frames$;

const openReplay = (
  config: SourceConfig,
  log: Logger,
  timing: { scheduler: SchedulerLike } | undefined,
  until: Observable<unknown> | undefined,
): OpenedSource => {
  let frames: Frame[];
  try {
    frames = readFeed(config.feed, log);
  } catch (cause) {
    const reason = (cause as Error).message;
    throw new TickstreamError('feed_unreadable', `cannot read feed ${config.feed}: ${reason}`, { cause });
  }
  const kept = config.from || config.to ? frames.filter(inWindow(config.from, config.to)) : frames;
  if (kept.length === 0) log.warn({ feed: config.feed, frames: frames.length }, 'no frames to replay');
  log.info(
    {
      feed: config.feed,
      frames: kept.length,
      skipped: frames.length - kept.length,
      speed: config.speed,
      loop: config.loop,
    },
    'replaying feed',
  );
  const replayed = (resumeAfter?: string) =>
    endedBy(until)(replay(kept, { ...config, ...timing, ...(resumeAfter !== undefined && { resumeAfter }) }));
  return {
    kind: 'replay',
    ...trackState(replayed(), timing),
    resume: (after) => trackState(replayed(after), timing),
  };
};

/** The replay's own flags that `config` sets: a live source has no pace, loop or window. */
const replayOnlyFlags = (config: SourceConfig): string[] =>
  [
    config.loop && '--loop',
    config.speed !== 1 && '--speed',
    config.from && '--from',
    config.to && '--to',
  ].filter((flag): flag is string => typeof flag === 'string');

/**
 * Opens the configured source: a replay of a saved feed, stdin (`--feed -`), a followed file
 * or a polled page. A saved feed that cannot be read fails here, before serving.
 */
export const openSource = (
  config: SourceConfig,
  log: Logger,
  { scheduler, stdin = process.stdin, until }: OpenOptions = {},
): OpenedSource => {
  const timing = scheduler && { scheduler };
  const live = config.url !== undefined || config.follow !== undefined || config.feed === '-';
  const unused = live ? replayOnlyFlags(config) : [];
  if (unused.length > 0)
    log.warn(
      { ignored: unused },
      `${unused.join(', ')} apply to a replay of a saved feed; ignored for a live one`,
    );
  if (config.url !== undefined) {
    const pollMs = config.pollMs ?? 5000;
    log.info({ url: config.url, pollMs }, 'polling page');
    return {
      kind: 'poll',
      ...trackState(endedBy(until)(pollPage(config.url, log, { pollMs, ...timing })), {
        staleAfterMs: stalenessOf(config, pollMs),
        ...timing,
      }),
    };
  }
  if (config.follow !== undefined) {
    const pollMs = config.pollMs ?? 1000;
    log.info({ file: config.follow, pollMs }, 'following file');
    const file = followFile(config.follow, log, { pollMs, ...timing });
    const frames$ = file.bytes$.pipe(
      splitLines(),
      linesToFrames(config.follow, log, { flushAfterMs: pollMs + STDIN_FLUSH_MS, until, ...timing }),
    );
    return {
      kind: 'follow',
      ...trackState(frames$, {
        staleAfterMs: stalenessOf(config, pollMs),
        failing$: file.failing$,
        ...timing,
      }),
    };
  }
  if (config.feed === '-') {
    log.info('reading frames from stdin');
    const frames$ = streamFrames(stdin, 'stdin', log, { flushAfterMs: STDIN_FLUSH_MS, until, ...timing });
    return { kind: 'stdin', ...trackState(frames$, { staleAfterMs: stalenessOf(config, 0), ...timing }) };
  }
  return openReplay(config, log, timing, until);
};
