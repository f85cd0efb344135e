import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import { Bar, compiledCheck } from '../protocol/messages.ts';
import type { BarCopySource, BarLogMark, BarStore } from './bar-store.ts';
import { runAtOnce } from './steps.ts';

/** Most bars in one piece of a copied log: a piece is written and read whole. */
export const PIECE_BARS = 5000;

/** Which pieces hold a state's bars before each series' latest: the copy's id, and how many pieces of each day. */
export const BarLogRef = z.object({
  id: z.string().check(z.regex(/^[\w-]{1,64}$/)),
  days: z.record(z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)), z.int().check(z.nonnegative())),
});
export type BarLogRef = z.infer<typeof BarLogRef>;

/** One piece of a day's log: bars as the hub holds them, each with the seq that last changed it. */
export const BarLogPiece = z.object({ bars: z.array(Bar), seqs: z.array(z.int().check(z.nonnegative())) });
export type BarLogPiece = z.infer<typeof BarLogPiece>;
const pieceProblem = compiledCheck(BarLogPiece);

/** A piece as text (one line: JSON holds no newline), as {@link decodeBarLogPiece} reads it. */
export const encodeBarLogPiece = (piece: BarLogPiece): string => JSON.stringify(piece);

/** A piece read back; `name` says which in a problem. */
export const decodeBarLogPiece = (
  name: string,
  text: string,
): { ok: true; value: BarLogPiece } | { ok: false; problem: string } => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `bar log piece ${name} is not JSON: ${(err as Error).message}` };
  }
  const piece = parsed as BarLogPiece;
  const problem =
    pieceProblem(parsed) ?? (piece.bars.length === piece.seqs.length ? undefined : 'as many seqs as bars');
  if (problem !== undefined)
    return { ok: false, problem: `bar log piece ${name} is not bars with seqs: ${problem}` };
  return { ok: true, value: piece };
};

/** Piece `k` of `day`'s log, to add to a copy: the bars at places [`from`, `to`) of the log. */
export interface NewPiece {
  day: string;
  k: number;
  from: number;
  to: number;
}

/** A write's pieces read from logs that changed after it was made: the copy it is for starts over. */
export class BarLogChanged extends Error {
  constructor(day: string) {
    super(`the bar log of ${day} changed while a copy of it was being written`);
    this.name = 'BarLogChanged';
  }
}

/** What one write does to the copy. */
export interface BarLogWrite {
  /** Start over: drop whatever the copy held (this writer knows of none, or it cannot go on). */
  reset: boolean;
  /** The copy's id: kept while the copy goes on, new on a reset. */
  id: string;
  /** The pieces to add, each day's in order. */
  pieces: NewPiece[];
  /**
   * A piece's text, encoded when it is written, not when the write is made: days of bars take
   * seconds to encode, which a writer that serves meanwhile spreads over turns of the loop.
   * Throws {@link BarLogChanged} if its log changed since but by appends.
   */
  text(piece: NewPiece): string;
  /** The days to drop, with how many pieces each held (none on a reset: all go). */
  dropped: { day: string; pieces: number }[];
  /** What the state written with it names. */
  ref: BarLogRef;
  /** What the copy holds once it took this write. */
  after: ReadonlyMap<string, Copied>;
}

interface Copied {
  count: number;
  revisions: number;
  pieces: number;
}

/**
 * Whether each day's log now goes on from what was copied of it: none of the copied bars
 * changed, and no day is new but the ones after every day copied.
 */
const continuesCopy = (copied: ReadonlyMap<string, Copied>, logs: readonly BarLogMark[]): boolean => {
  const newest = [...copied.keys()].sort().at(-1) ?? '';
  return logs.every(({ day, count, revisions }) => {
    const was = copied.get(day);
    return was ? was.revisions === revisions && was.count <= count : day > newest;
  });
};

/**
 * Encodes a piece of a write whose logs stood at `marks`: a log's places below its count never
 * change but by a revision (bars put back over logged ones) or the day being dropped, whatever
 * the log gained since.
 */
const pieceText =
  (bars: BarCopySource, marks: ReadonlyMap<string, Copied>) =>
  ({ day, from, to }: NewPiece): string => {
    const now = bars.logs().find((log) => log.day === day);
    if (!now || now.revisions !== marks.get(day)?.revisions) throw new BarLogChanged(day);
    return encodeBarLogPiece(bars.logBars(day, from, to));
  };

/**
 * A copy of the bar store's day logs elsewhere (the bus's in Redis, a data directory's files),
 * kept up to date bit by bit. A bar that a later one of its series replaced sits in its day's
 * log and never changes again, so each write adds only what the logs gained since the last as
 * new pieces, and the state written with it carries each series' latest bar and a reference to
 * the pieces: a write costs what changed, not the days of bars held (at a thousand symbols,
 * five days are 2.4 million bars and seconds of the loop). A day no longer held is dropped.
 * Under one id a piece never changes once written, so a reader that finds every piece a state
 * names under its id reads exactly that state's bars: when a log changed otherwise (bars put
 * back over copied ones by a restore, a day back after it was dropped), the copy starts over
 * under a new id.
 */
export class BarLogCopy {
  /** What the copy holds under `id`, as of the last write it took; undefined: unknown. */
  private copied: { id: string; days: ReadonlyMap<string, Copied> } | undefined;

  constructor(private readonly newId: () => string = randomUUID) {}

  /** The write that brings the copy up to `bars`; `taken` once it is made. */
  write(bars: BarCopySource): BarLogWrite {
    const logs = bars.logs();
    const kept = this.copied && continuesCopy(this.copied.days, logs) ? this.copied : undefined;
    const before = kept?.days ?? new Map<string, Copied>();
    const pieces: NewPiece[] = [];
    const days = new Map<string, Copied>();
    for (const { day, count, revisions } of logs) {
      const copied = before.get(day);
      let k = copied?.pieces ?? 0;
      for (let from = copied?.count ?? 0; from < count; from += PIECE_BARS)
        pieces.push({ day, k: k++, from, to: Math.min(from + PIECE_BARS, count) });
      days.set(day, { count, revisions, pieces: k });
    }
    const dropped = [...before]
      .filter(([day]) => !days.has(day))
      .map(([day, { pieces: n }]) => ({ day, pieces: n }));
    const id = kept?.id ?? this.newId();
    const ref = { id, days: Object.fromEntries([...days].map(([day, c]) => [day, c.pieces])) };
    return { reset: !kept, id, pieces, text: pieceText(bars, days), dropped, ref, after: days };
  }

  /** The copy took `write`: the next one goes on from it. */
  taken(write: BarLogWrite): void {
    this.copied = { id: write.id, days: write.after };
  }

  /**
   * The bar store was restored from the copy `read` (see {@link barLogSteps}): each day's log
   * then begins with the copy's bars (each leaves its series' row for the log as the next is
   * put, so in another order, which a copy does not keep) and holds only what came since after
   * them. The next write goes on from the copy instead of writing every bar again; a log
   * changed since in any other way than by appends (its `revisions`) still starts it over.
   */
  adopt(read: LoggedBars): void {
    const days = new Map<string, Copied>();
    for (const [day, pieces] of Object.entries(read.ref.days))
      days.set(day, { count: read.counts.get(day) ?? 0, revisions: 0, pieces });
    this.copied = { id: read.ref.id, days };
  }

  /** The copy is not as the last write left it (lost, failed, another writer's): the next write starts over. */
  lost(): void {
    this.copied = undefined;
  }
}

/** A copy read into a bar store: what `ref` named, and how many bars of each day it held. */
export interface LoggedBars {
  ref: BarLogRef;
  counts: ReadonlyMap<string, number>;
}

/** What reading a copy comes to: its bars, or why not. */
export type BarLogRead = ({ ok: true } & LoggedBars) | { ok: false; problem: string; missing: boolean };

/**
 * Where a reader finds the `pieces` pieces of `day`'s log: the text of piece `k`, or undefined
 * when it has none. A piece is decoded as the read comes to it, not a day's pieces at once.
 */
export type ReadDay = (day: string, pieces: number) => (k: number) => string | undefined;

/**
 * Puts the bars a copy holds, from the pieces `read` finds for `ref`, into `into` (oldest day
 * first, each with its seq, before the state's own latest ones go in); else says why not: a
 * piece `missing` (a newer write replaced the copy, or it was lost) or unreadable, and `into`
 * is then half-filled. Each piece's bars go into the store as it is decoded: millions of bars
 * held as objects until a restore put them filled the old generation and doubled a start's
 * time in collections. Yields after each piece (a few milliseconds of the loop each), so a
 * process that serves meanwhile (an edge reloading days of bars) can let its clients in
 * between; {@link readBarLog} runs it at once.
 */
export function* barLogSteps(
  ref: BarLogRef,
  read: ReadDay,
  into: Pick<BarStore, 'put'>,
): Generator<void, BarLogRead> {
  const counts = new Map<string, number>();
  for (const [day, count] of Object.entries(ref.days).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const textOf = read(day, count);
    let held = 0;
    for (let k = 0; k < count; k++) {
      const text = textOf(k);
      if (text === undefined)
        return { ok: false, problem: `bar log ${ref.id} lacks piece ${k} of ${day}`, missing: true };
      const piece = decodeBarLogPiece(`${k} of ${day}`, text);
      if (!piece.ok) return { ...piece, missing: false };
      const { bars, seqs } = piece.value;
      for (let i = 0; i < bars.length; i++) into.put([bars[i]!], seqs[i]!);
      held += bars.length;
      yield;
    }
    counts.set(day, held);
  }
  return { ok: true, ref, counts };
}

/** {@link barLogSteps} at once, for a process that serves no one yet (a start). */
export const readBarLog = (ref: BarLogRef, read: ReadDay, into: Pick<BarStore, 'put'>): BarLogRead =>
  runAtOnce(barLogSteps(ref, read, into));
