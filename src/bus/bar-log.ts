import { randomUUID } from 'node:crypto';
import type { BarCopySource, BarLogMark } from '../hub/bar-store.ts';
import { encodeBarLogPiece, type BarLogRef } from './stream-codec.ts';

/** Most bars in one piece of the log: a piece is one Redis value, written and read whole. */
export const PIECE_BARS = 5000;

/** The hash field of piece `k` of `day`'s log. */
export const pieceField = (day: string, k: number): string => `${day}:${k}`;

/** The hash field that names the log's copy, so a writer knows the copy it extends is its own. */
export const LOG_ID_FIELD = 'id';

/** What one snapshot write does to the bar log's hash in Redis. */
export interface BarLogWrite {
  /** Empty the hash first: this writer has no copy there it knows of. */
  reset: boolean;
  /** The copy's id, checked (or set, on a reset) by the publish script. */
  id: string;
  /** Field, value, field, value… */
  set: string[];
  /** Fields to delete: the pieces of a day no longer held, or of one written again. */
  del: string[];
  /** What the snapshot names: the id and how many pieces of each day it holds. */
  ref: BarLogRef;
  /** What Redis holds once it took this write. */
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
 * The ingest's copy of the bars in Redis, kept up to date bit by bit. A day's log only grows
 * while the day goes on, so each snapshot write appends what it gained since the last as new
 * pieces of a hash (`<prefix>:bars`), and the snapshot itself carries only each series' latest
 * bar: a snapshot costs what changed, not the five days of bars held (which, at a thousand
 * symbols, was seconds of the ingest's loop and hundreds of MB every `--bus-snapshot`). A day
 * no longer held is deleted. Under one id a piece never changes once written, so a reader that
 * finds every piece its snapshot names under that id reads exactly that snapshot's bars: when
 * a log changed otherwise (bars put back over copied ones by a restore, a day back after it
 * was dropped), the copy starts over under a new id.
 */
export class BarLogCopy {
  /** What Redis holds under `id`, as of the last write it took; undefined: unknown. */
  private copied: { id: string; days: ReadonlyMap<string, Copied> } | undefined;

  constructor(private readonly newId: () => string = randomUUID) {}

  /** The write that brings Redis's copy up to `bars`; `taken` once Redis took it. */
  write(bars: BarCopySource): BarLogWrite {
    const logs = bars.logs();
    const kept = this.copied && continuesCopy(this.copied.days, logs) ? this.copied : undefined;
    const id = kept?.id ?? this.newId();
    const before = kept?.days ?? new Map<string, Copied>();
    const set: string[] = [];
    const del: string[] = [];
    const days = new Map<string, Copied>();
    for (const { day, count, revisions } of logs) {
      const copied = before.get(day);
      let pieces = copied?.pieces ?? 0;
      for (let from = copied?.count ?? 0; from < count; from += PIECE_BARS)
        set.push(pieceField(day, pieces++), encodeBarLogPiece(bars.logBars(day, from, from + PIECE_BARS)));
      days.set(day, { count, revisions, pieces });
    }
    for (const [day, { pieces }] of before)
      if (!days.has(day)) for (let k = 0; k < pieces; k++) del.push(pieceField(day, k));
    const ref = { id, days: Object.fromEntries([...days].map(([day, c]) => [day, c.pieces])) };
    return { reset: !kept, id, set, del, ref, after: days };
  }

  /** Redis took `write`: the next one goes on from it. */
  taken(write: BarLogWrite): void {
    this.copied = { id: write.id, days: write.after };
  }

  /** Redis does not hold this copy (restarted empty, or another writer's): the next write starts over. */
  lost(): void {
    this.copied = undefined;
  }
}
