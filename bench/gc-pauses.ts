/**
 * The garbage collector's pauses in a server under test, so that a run's latency tail can be
 * told apart from a mark-compact landing in its measured window: on a shared machine a slow
 * spell of the host moves p99 as much as a GC does, and only the server's own record says which.
 */
import { constants, performance, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/** Pauses as they cross IPC: start (ms since the epoch, as `hiResNow`), length in ms, and whether a mark-compact. */
export interface GcPauseTable {
  at: number[];
  ms: number[];
  major: boolean[];
}

/** Pauses of one kind that the measured window of a run saw. */
export interface Pauses {
  count: number;
  /** Their pauses added up, and the longest, in ms (0 for none). */
  totalMs: number;
  longestMs: number;
}

/** A run's window: mark-compacts (`major`) and the young generation's scavenges and the like (`minor`). */
export interface GcInWindow {
  major: Pauses;
  minor: Pauses;
}

/** Starts recording this process's GC pauses; the function returned gives every one so far. */
export const recordGcPauses = (): (() => GcPauseTable) => {
  const table: GcPauseTable = { at: [], ms: [], major: [] };
  const add = (entries: PerformanceEntry[]) => {
    for (const e of entries) {
      table.at.push(performance.timeOrigin + e.startTime);
      table.ms.push(e.duration);
      const { detail } = e as PerformanceEntry & { detail?: { kind?: number } };
      table.major.push(detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    }
  };
  const observer = new PerformanceObserver((list) => add(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  // Entries reach the callback a turn late: the ones still pending are taken on the spot.
  return () => {
    add(observer.takeRecords());
    return table;
  };
};

/** The pauses of `table` that stopped anything in [from, to] (ms since the epoch), by kind. */
export const gcIn = (table: GcPauseTable, from: number, to: number): GcInWindow => {
  const found: GcInWindow = {
    major: { count: 0, totalMs: 0, longestMs: 0 },
    minor: { count: 0, totalMs: 0, longestMs: 0 },
  };
  table.at.forEach((at, i) => {
    const ms = table.ms[i]!;
    if (at + ms < from || at > to) return;
    const kind = table.major[i] ? found.major : found.minor;
    kind.count++;
    kind.totalMs += ms;
    kind.longestMs = Math.max(kind.longestMs, ms);
  });
  return found;
};
