import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { gcIn, recordGcPauses, type GcPauseTable, type Pauses } from '../../bench/gc-pauses.ts';
import { summarize } from '../../bench/summary.ts';
import { waitFor } from '../helpers.ts';
import type { RunResult } from '../../bench/run.ts';

describe('GC pauses of a server under test', () => {
  it('records a mark-compact of this process with its time and length', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const pauses = recordGcPauses();
    const before = performance.timeOrigin + performance.now();
    gc();
    const after = performance.timeOrigin + performance.now();
    // Node makes a pause's entry in a later turn, as it does while a server runs.
    await waitFor(() => pauses().major.some(Boolean), 'the entry of the mark-compact');
    const table = pauses();
    const major = table.at.flatMap((at, i) => (table.major[i] ? [{ at, ms: table.ms[i]! }] : []));
    expect(major.length).toBeGreaterThanOrEqual(1);
    expect(major[0]!.at).toBeGreaterThanOrEqual(before - 1);
    expect(major[0]!.at + major[0]!.ms).toBeLessThanOrEqual(after + 1);
    expect(gcIn(table, before, after).major.count).toBe(major.length);
  });

  it('counts the pauses that stopped anything inside the window, mark-compacts apart', () => {
    const table: GcPauseTable = {
      at: [100, 195, 300, 350, 480, 600],
      ms: [3, 10, 40, 2, 30, 5],
      major: [true, true, true, false, true, true],
    };
    // 100 ends before the window, 195 runs into it, 350 is a scavenge, 480 runs past its end, 600 is after.
    expect(gcIn(table, 200, 500)).toEqual({
      major: { count: 3, totalMs: 80, longestMs: 40 },
      minor: { count: 1, totalMs: 2, longestMs: 2 },
    });
    const none = { count: 0, totalMs: 0, longestMs: 0 };
    expect(gcIn(table, 700, 800)).toEqual({ major: none, minor: none });
  });

  it('says in how many runs of a cell one landed, or that no run could tell', () => {
    const none = { count: 0, totalMs: 0, longestMs: 0 };
    const run = (major?: Pauses) =>
      ({
        server: 'tickstream',
        workload: { subscribers: 5000, symbols: 5, rate: 1000, stalled: 0, durationMs: 5000 },
        latencyMs: { p50: 5, p99: 12, p999: 20, samples: 100, hiRes: 1 },
        valid: true,
        ...(major && { gc: { major, minor: { count: 9, totalMs: 9, longestMs: 2 } } }),
      }) as RunResult;
    const [told] = summarize([run(none), run({ count: 2, totalMs: 31, longestMs: 24 }), run(none)]);
    expect(told).toMatchObject({ majorGcRuns: 1, majorGcLongestMs: 24 });
    const [untold] = summarize([run(), run()]);
    expect(untold!.majorGcRuns).toBeNaN();
  });
});
