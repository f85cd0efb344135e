import {
  connect,
  defer,
  filter,
  map,
  merge,
  mergeMap,
  skipWhile,
  tap,
  type MonoTypeOperatorFunction,
  type OperatorFunction,
} from 'rxjs';
import type { Headline, QuoteValues } from './protocol/messages.ts';
import type { Frame } from './source/frame.ts';
import { parseText } from './parse/parse-text.ts';
import { isHeadline, isQuote, type ParsedEvent, type ParsedHeadline } from './parse/events.ts';
import { diffQuotes } from './diff/diff-quotes.ts';
import { dedupeHeadlines } from './diff/dedupe-headlines.ts';
import type { Change, HeadlineChange, TimedQuote } from './diff/changes.ts';
import { withDayFields, type DaySeed } from './bars/day-fields.ts';

/** A parsed event with the time its frame was observed and where it came from. */
export type TimedEvent = ParsedEvent & { ts: string; origin: string };

export interface PipelineOptions {
  /** Values already published (after a restart), so the diff does not announce them again. */
  seed?: ReadonlyMap<string, QuoteValues>;
  /** The day ranges already published (after a restart), so a day goes on where it was. */
  days?: Iterable<DaySeed>;
  /** Story ids already published. */
  seenHeadlines?: Iterable<string>;
  /** Sees every parsed event: where rejected and suspect lines are logged and counted. */
  onEvent?: (event: TimedEvent) => void;
  /** Receive time for frames without a capture time. */
  now?: () => number;
}

/** When a frame was observed: its capture time, else now (receive time). */
export const frameTime = (frame: Frame, now: () => number = Date.now): number =>
  frame.capturedAt?.getTime() ?? now();

/** Parses a frame; each event takes the frame's capture time (else receive time) as `ts`. */
export const frameEvents = (frame: Frame, now: () => number = Date.now): TimedEvent[] => {
  const ts = new Date(frameTime(frame, now)).toISOString();
  const events = parseText(frame.text) as TimedEvent[];
  // The parse's events are new and no one else's: they are stamped in place, because in V8 a
  // copy by spread that then adds properties takes a slow path (bench/README.md, "Object spreads").
  for (const event of events) {
    event.ts = ts;
    event.origin = frame.origin;
  }
  return events;
};

const toHeadline = ({
  type: _t,
  line: _l,
  origin: _o,
  ...headline
}: ParsedHeadline & { ts: string; origin: string }): Headline => headline;

/**
 * Frames in, changes out: parse, report, then diff quotes and dedupe headlines, keeping
 * the order in which the frame held them.
 */
export const feedChanges =
  (options: PipelineOptions = {}): OperatorFunction<Frame, Change> =>
  (frames$) =>
    frames$.pipe(
      mergeMap((frame) => frameEvents(frame, options.now)),
      tap((event) => options.onEvent?.(event)),
      connect((events$) =>
        merge(
          events$.pipe(
            filter((e): e is TimedQuote & { origin: string } => isQuote(e)),
            withDayFields(options.days),
            diffQuotes(options.seed),
          ),
          events$.pipe(
            filter((e): e is ParsedHeadline & { ts: string; origin: string } => isHeadline(e)),
            map(toHeadline),
            dedupeHeadlines(options.seenHeadlines),
            map((headline): HeadlineChange => ({ type: 'headline', headline })),
          ),
        ),
      ),
    );

/**
 * After a restart, skips the leading frames captured before `after` (the latest `ts` the hub
 * had published), so a replay goes on from where it was instead of rewinding every quote.
 * The frame captured at `after` itself passes: it may have been cut short by the crash, and
 * the seeded diff turns what was already sent into nothing. `report` hears how many were skipped.
 */
export const skipPublished =
  (after: string | undefined, report: (skipped: number) => void): MonoTypeOperatorFunction<Frame> =>
  (frames$) =>
    after === undefined
      ? frames$
      : defer(() => {
          let skipped = 0;
          let reported = false;
          const tell = () => {
            if (!reported && skipped > 0) report(skipped);
            reported = true;
          };
          return frames$.pipe(
            skipWhile((frame) => {
              const old = frame.capturedAt !== undefined && frame.capturedAt.toISOString() < after;
              if (old) skipped++;
              return old;
            }),
            tap({ next: tell, complete: tell }),
          );
        });
