/**
 * The goals of issue 17 (and issue 16's "not slower with bars on"), judged from the same bench
 * run as the table: ratios between servers, never absolutes across runs.
 */
import { f, finder, judge, ratio, x, type Find, type GoalResult } from './goals.ts';
import { GC_CELL } from './matrix.ts';
import type { MemoryResult } from './memory.ts';
import { BARS_OFF_SERVER, CONTROL_SERVER, type ServerName } from './servers.ts';
import type { SummaryRow } from './summary.ts';

/** Runs of the GC cell the spread is judged over. */
export const GC_SPREAD_RUNS = 5;
/** Latency figures count as sub-millisecond when this share of their samples is. */
const HI_RES = 0.99;
/** Bars on may cost this much more than bars off and still count as "not slower" (run noise). */
export const BARS_TOLERANCE = 1.1;

const cellName = (r: SummaryRow) => `${r.subscribers} × ${r.symbols} × ${r.rate}/s`;
const sameCell = (a: SummaryRow, b: SummaryRow) =>
  a.subscribers === b.subscribers && a.symbols === b.symbols && a.rate === b.rate && a.stalled === b.stalled;

/** Each row of `server` with the row of `other` on the same workload, where both ran. */
const pairs = (rows: readonly SummaryRow[], server: ServerName, other: ServerName) =>
  rows
    .filter((r) => r.server === server)
    .flatMap((r) => {
      const o = rows.find((p) => p.server === other && sameCell(r, p));
      return o ? [[r, o] as const] : [];
    });

/** p50, p99 and CPU per delivery of `a` against `b`, each ≤ `limit`×. */
const atOrBelow = (
  rows: readonly SummaryRow[],
  a: ServerName,
  b: ServerName,
  goal: string,
  limit: number,
) => {
  const both = pairs(rows, a, b);
  const ratios = both.map(([r, o]) => [
    ratio(r.p50, o.p50),
    ratio(r.p99, o.p99),
    ratio(r.cpuSecPerMillion, o.cpuSecPerMillion),
  ]);
  const all = ratios.flat();
  return {
    goal,
    met: both.length === 0 ? undefined : judge(all, [all.every((q) => q <= limit)]),
    measured:
      both.length === 0
        ? `no cell ran both ${a} and ${b}`
        : both
            .map(([r], i) => {
              const [p50, p99, cpu] = ratios[i]!;
              return `${cellName(r)}: p50 ${x(p50!)}, p99 ${x(p99!)}, CPU ${x(cpu!)}`;
            })
            .join('; '),
  };
};

/** 1,000 × all × 1,000/s: the ticker cell, where tickstream should lead on tail and CPU. */
const tickerCellGoal = (find: Find): GoalResult => {
  const t = find('tickstream', 1000, 'all', 1000);
  const batch = find('sio-batch', 1000, 'all', 1000);
  const p99 = ratio(t?.p99 ?? NaN, batch?.p99 ?? NaN);
  const cpu = ratio(t?.cpuSecPerMillion ?? NaN, batch?.cpuSecPerMillion ?? NaN);
  return {
    goal: '1,000 × all × 1,000/s: p99 ≤ 0.7× and CPU/delivery ≤ 0.8× sio-batch',
    met: judge([p99, cpu], [p99 <= 0.7, cpu <= 0.8]),
    measured: `p99 ${f(t?.p99)} vs ${f(batch?.p99)} ms = ${x(p99)}, CPU ${f(t?.cpuSecPerMillion, 2)} vs ${f(batch?.cpuSecPerMillion, 2)} s/M = ${x(cpu)}`,
  };
};

/** The spread of p99 over the GC cell's runs, with how many of them a mark-compact paused. */
const gcTailGoal = (find: Find): GoalResult => {
  const gc = find(GC_CELL.server, GC_CELL.subscribers, GC_CELL.symbols, GC_CELL.rate);
  const usable = gc ? gc.runs - gc.invalid : 0;
  const spread = usable >= GC_SPREAD_RUNS && gc ? ratio(gc.p99Max, gc.p99Min) : NaN;
  return {
    goal: `GC tail: tickstream ${GC_CELL.subscribers} × ${GC_CELL.symbols} × ${GC_CELL.rate}/s, max p99 ≤ 1.5× min p99 over ${GC_SPREAD_RUNS} runs`,
    met: judge([spread], [spread <= 1.5]),
    measured: gc
      ? `${usable} valid run(s)${usable < GC_SPREAD_RUNS ? ` (needs ${GC_SPREAD_RUNS}: --gc-runs ${GC_SPREAD_RUNS})` : ''}, p99 ${f(gc.p99Min)}–${f(gc.p99Max)} ms = ${x(ratio(gc.p99Max, gc.p99Min))}` +
        `; a mark-compact in the measured window in ${f(gc.majorGcRuns, 0)} of them (longest ${f(gc.majorGcLongestMs)} ms)`
      : 'cell not run',
  };
};

/** Marginal memory per connection, tickstream's against the bound, the peers' beside it. */
const memoryGoal = (memory: readonly MemoryResult[]): GoalResult => {
  const mem = (s: ServerName) => memory.find((m) => m.server === s);
  const tm = mem('tickstream');
  const peers = (['sio-batch', 'sio-emit', 'ws'] as const)
    .map((s) => [s, mem(s)] as const)
    .filter(([, m]) => m !== undefined)
    .map(([s, m]) => `${s} ${f(m!.marginalKBPerConn)} (idle ${f(m!.idleKBPerConn)})`);
  const marginal = tm?.marginalKBPerConn ?? NaN;
  return {
    goal: 'memory, marginal: (RSS at 10,000 idle − RSS at 5,000) / 5,000 ≤ 6 KB/conn',
    met: judge([marginal], [marginal <= 6]),
    measured: `tickstream ${f(marginal)} KB/conn (idle ${f(tm?.idleKBPerConn)})${peers.length ? `; ${peers.join(', ')}` : ''}${tm?.notes.length ? `; ${tm.notes.join('; ')}` : ''}`,
  };
};

/** Every run valid: no load generator saturated, reruns included. */
const loadGeneratorGoal = (rows: readonly SummaryRow[]): GoalResult => {
  const runs = rows.reduce((sum, r) => sum + r.runs, 0);
  const invalid = rows.reduce((sum, r) => sum + r.invalid, 0);
  const reruns = rows.reduce((sum, r) => sum + r.reruns, 0);
  const lost = rows.filter((r) => r.invalid === r.runs).map((r) => `${r.server} ${cellName(r)}`);
  const busiest = Math.max(...rows.map((r) => r.loadCpu).filter((c) => !Number.isNaN(c)), 0);
  return {
    goal: 'the load generator is never the bottleneck (every run valid)',
    met: rows.length === 0 ? undefined : invalid === 0,
    measured:
      `${invalid} invalid run(s) of ${runs}, ${reruns} rerun(s); busiest median ${(busiest * 100).toFixed(0)}%` +
      (lost.length ? `; no valid run: ${lost.join(', ')}` : ''),
  };
};

/** Light load against `ws`, judged only where both servers' latency came from sub-millisecond stamps. */
const lightLoadGoal = (rows: readonly SummaryRow[], find: Find): GoalResult => {
  const light = rows.find((r) => r.server === 'tickstream' && r.rate <= 40 && r.stalled === 0);
  const lightWs = light && find('ws', light.subscribers, light.symbols, light.rate);
  const fine =
    light !== undefined && lightWs !== undefined && light.hiRes >= HI_RES && lightWs.hiRes >= HI_RES;
  const p50 = fine ? ratio(light.p50, lightWs.p50) : NaN;
  return {
    goal: 'light load (≤ 40/s): p50 ≤ 1.2× ws, sub-millisecond stamps',
    met: judge([p50], [p50 <= 1.2]),
    measured:
      light && lightWs
        ? `p50 ${f(light.p50, 2)} vs ${f(lightWs.p50, 2)} ms = ${x(ratio(light.p50, lightWs.p50))}` +
          (fine
            ? ''
            : ` (stamps sub-ms for ${(light.hiRes * 100).toFixed(0)}% / ${(lightWs.hiRes * 100).toFixed(0)}% of samples)`)
        : 'cell not run for both',
  };
};

export const evaluateGoals17 = (
  rows: readonly SummaryRow[],
  memory: readonly MemoryResult[],
): GoalResult[] => {
  const find = finder(rows);
  const goals: GoalResult[] = [
    atOrBelow(
      rows,
      'tickstream',
      'sio-batch',
      'every cell: tickstream ≤ sio-batch on p50, p99 and CPU/delivery',
      1,
    ),
    tickerCellGoal(find),
    gcTailGoal(find),
    memoryGoal(memory),
    loadGeneratorGoal(rows),
    lightLoadGoal(rows, find),
    atOrBelow(
      rows,
      'tickstream',
      BARS_OFF_SERVER,
      `bars on not slower than off (issue 16): p50, p99, CPU/delivery ≤ ${BARS_TOLERANCE}× ${BARS_OFF_SERVER}`,
      BARS_TOLERANCE,
    ),
  ];
  const control = atOrBelow(rows, 'tickstream', CONTROL_SERVER, '', BARS_TOLERANCE);
  if (pairs(rows, 'tickstream', CONTROL_SERVER).length > 0)
    goals.push({
      goal: `no goal: the bench's own noise, tickstream against itself (${CONTROL_SERVER}); read the ratios above against it`,
      met: undefined,
      measured: control.measured,
    });
  return goals;
};
