/**
 * Sub-millisecond latency from millisecond `ts` fields. Every server puts an ISO `ts` (ms
 * resolution) on its quotes, and tickstream's comes from the frame's `capturedAt`, so the wire
 * stays what users get. The feed gives each burst a `ts` millisecond of its own (the key) and
 * remembers the high-resolution time it handed the burst over; after the run the load generators
 * get that table and take each delivery's latency from it. One clock for all: every process on
 * the machine reads `performance.timeOrigin + performance.now()`.
 */
import { performance } from 'node:perf_hooks';
import { Histogram } from './histogram.ts';

/** Milliseconds since the epoch with sub-millisecond resolution, comparable across processes. */
export const hiResNow = (): number => performance.timeOrigin + performance.now();

/** One burst's stamp: `iso` goes on the wire, `key` is its millisecond, unique in the run. */
export interface BurstStamp {
  key: number;
  iso: string;
  date: Date;
}

/** The key → send-time table, as it crosses IPC. */
export interface StampTable {
  keys: number[];
  times: number[];
}

/** The feed side: stamps each burst and remembers when it left. */
export class BurstStamper {
  private last = -Infinity;
  private readonly keys: number[] = [];
  private readonly times: number[] = [];

  constructor(private readonly now: () => number = hiResNow) {}

  /**
   * Two bursts within one millisecond (a late timer catching up) get successive keys: the
   * `ts` is then up to a millisecond late, which the table corrects.
   */
  next(): BurstStamp {
    const at = this.now();
    const key = Math.max(Math.floor(at), this.last + 1);
    this.last = key;
    this.keys.push(key);
    this.times.push(at);
    const date = new Date(key);
    return { key, iso: date.toISOString(), date };
  }

  table(): StampTable {
    return { keys: [...this.keys], times: [...this.times] };
  }
}

/** The `ts` bytes of an ISO instant with milliseconds: `2026-11-30T21:00:00.000Z`. */
export const ISO_LENGTH = 24;

/**
 * The receiving side: (key, receipt time, deliveries) triples, one per distinct `ts` in a frame.
 * Latency is computed once the table arrives, so nothing races the feed's IPC.
 */
export class StampSamples {
  private data = new Float64Array(3 * 4096);
  private size = 0;
  /** Samples past this many are dropped (counted in `dropped`): memory stays bounded. */
  dropped = 0;

  constructor(private readonly capacity = 4_000_000) {}

  get length(): number {
    return this.size;
  }

  record(key: number, receivedAt: number, count: number): void {
    if (this.size >= this.capacity) {
      this.dropped += count;
      return;
    }
    const at = this.size * 3;
    if (at + 3 > this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[at] = key;
    this.data[at + 1] = receivedAt;
    this.data[at + 2] = count;
    this.size++;
  }

  /**
   * Latency of every sample whose burst was sent at or after `from`. A key missing from the
   * table (a frame before the run) falls back to the key itself: millisecond resolution.
   */
  histogram(table: StampTable, from: number): { histogram: Histogram; matched: number; total: number } {
    const sentAt = new Map<number, number>();
    table.keys.forEach((k, i) => sentAt.set(k, table.times[i]!));
    const histogram = new Histogram();
    let matched = 0;
    let total = 0;
    for (let i = 0; i < this.size; i++) {
      const key = this.data[i * 3]!;
      // A `ts` that did not parse stands for nothing measurable.
      if (Number.isNaN(key)) continue;
      const sent = sentAt.get(key);
      const start = sent ?? key;
      if (start < from) continue;
      const count = this.data[i * 3 + 2]!;
      histogram.recordMany(Math.max(0, this.data[i * 3 + 1]! - start), count);
      total += count;
      if (sent !== undefined) matched += count;
    }
    return { histogram, matched, total };
  }
}

/** The millisecond of the ISO `ts` at `at` in `data` (latin1 bytes), NaN if it is not one. */
export const parseTsKey = (data: Buffer, at: number): number =>
  Date.parse(data.toString('latin1', at, at + ISO_LENGTH));

const TS = Buffer.from('"ts":"');

/**
 * Records the `"ts":"…"` fields of one received frame: one sample per run of equal stamps (a
 * batch's quotes share their burst's), weighted by how many deliveries it stands for.
 */
export const recordStamps = (samples: StampSamples, data: Buffer, receivedAt: number): void => {
  let run = -1;
  let count = 0;
  for (let i = data.indexOf(TS); i !== -1; i = data.indexOf(TS, i + TS.length)) {
    const at = i + TS.length;
    if (run !== -1 && data.compare(data, run, run + ISO_LENGTH, at, at + ISO_LENGTH) === 0) {
      count++;
      continue;
    }
    if (run !== -1) samples.record(parseTsKey(data, run), receivedAt, count);
    run = at;
    count = 1;
  }
  if (run !== -1) samples.record(parseTsKey(data, run), receivedAt, count);
};
