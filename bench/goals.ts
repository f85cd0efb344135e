import type { ServerName } from './servers.ts';
import type { SummaryRow } from './summary.ts';

/** One goal (of issue 8 or 17), judged from the medians of the same run; `met` undefined: not measured. */
export interface GoalResult {
  goal: string;
  met: boolean | undefined;
  measured: string;
}

export type Find = (
  server: ServerName,
  subscribers: number,
  symbols: 'all' | number | undefined,
  rate: number,
  stalled?: number,
) => SummaryRow | undefined;

export const finder =
  (rows: readonly SummaryRow[]): Find =>
  (server, subscribers, symbols, rate, stalled = 0) =>
    rows.find(
      (r) =>
        r.server === server &&
        r.subscribers === subscribers &&
        (symbols === undefined || r.symbols === symbols) &&
        r.rate === rate &&
        r.stalled === stalled,
    );

export const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);
/** A figure, or '–' where the run did not measure it. */
export const f = (n: number | undefined, digits = 1) =>
  n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);
export const x = (n: number) => `${Number.isNaN(n) ? '–' : n.toFixed(2)}×`;
/** All checks must hold; any figure missing makes the goal unmeasured rather than failed. */
export const judge = (checks: number[], pass: boolean[]): boolean | undefined =>
  checks.some((c) => Number.isNaN(c)) ? undefined : pass.every(Boolean);

/** 1,000 × all × 1,000/s: delivery, tail, throughput per CPU second against the naive peers, and CPU against batched socket.io. */
const tickerLoadGoal = (find: Find): GoalResult => {
  const t = find('tickstream', 1000, 'all', 1000);
  const ws = find('ws', 1000, 'all', 1000);
  const emit = find('sio-emit', 1000, 'all', 1000);
  const batch = find('sio-batch', 1000, 'all', 1000);
  // Throughput as deliveries per server CPU second: what one core sustains, far less skewed by
  // other load on a shared machine than deliveries per wall second (shown beside).
  const vsWs = ratio(t?.deliveriesPerCpuSec ?? NaN, ws?.deliveriesPerCpuSec ?? NaN);
  const vsEmit = ratio(t?.deliveriesPerCpuSec ?? NaN, emit?.deliveriesPerCpuSec ?? NaN);
  const wallWs = ratio(t?.deliveriesPerSec ?? NaN, ws?.deliveriesPerSec ?? NaN);
  const wallEmit = ratio(t?.deliveriesPerSec ?? NaN, emit?.deliveriesPerSec ?? NaN);
  const cpu = ratio(t?.cpuSecPerMillion ?? NaN, batch?.cpuSecPerMillion ?? NaN);
  const loadChecks = [t?.deliveredPct ?? NaN, t?.p99 ?? NaN, vsWs, vsEmit, cpu];
  return {
    goal: '1,000 subs × 1,000/s: ≥ 99% delivered, p99 ≤ 20 ms, ≥ 15× ws and sio-emit throughput, CPU/delivery ≤ 0.85× sio-batch',
    met: judge(loadChecks, [
      (t?.deliveredPct ?? 0) >= 99,
      (t?.p99 ?? Infinity) <= 20,
      vsWs >= 15,
      vsEmit >= 15,
      cpu <= 0.85,
    ]),
    measured:
      `${f(t?.deliveredPct, 1)}% delivered, p99 ${f(t?.p99, 1)} ms, deliveries/CPU s ${x(vsWs)} ws and ` +
      `${x(vsEmit)} sio-emit (per wall s ${x(wallWs)}, ${x(wallEmit)}), CPU/delivery ${x(cpu)} sio-batch`,
  };
};

/** 5,000 subscribers: delivery, and the tail against batched socket.io. */
const manyClientsGoal = (find: Find): GoalResult => {
  const big = find('tickstream', 5000, 'all', 1000) ?? find('tickstream', 5000, undefined, 1000);
  const bigBatch = big && find('sio-batch', 5000, big.symbols, 1000);
  const p99Ratio = ratio(big?.p99 ?? NaN, bigBatch?.p99 ?? NaN);
  return {
    goal: `5,000 subs${big ? ` (${big.symbols} symbols)` : ''} × 1,000/s: ≥ 99% delivered, p99 ≤ 0.5× sio-batch`,
    met: judge([big?.deliveredPct ?? NaN, p99Ratio], [(big?.deliveredPct ?? 0) >= 99, p99Ratio <= 0.5]),
    measured: `${f(big?.deliveredPct, 1)}% delivered, p99 ${f(big?.p99, 1)} ms = ${x(p99Ratio)} sio-batch`,
  };
};

/** Light load against the plain `ws` server, which sends each update the moment it arrives. */
const lightLoadGoal = (rows: readonly SummaryRow[], find: Find): GoalResult => {
  const light = rows.find((r) => r.server === 'tickstream' && r.rate <= 40 && r.stalled === 0);
  const lightWs = light && find('ws', light.subscribers, light.symbols, light.rate);
  const p50Ratio = ratio(light?.p50 ?? NaN, lightWs?.p50 ?? NaN);
  return {
    goal: 'light load (≤ 40/s): p50 ≤ 1.2× ws (which sends each update at once)',
    met: judge([p50Ratio], [p50Ratio <= 1.2]),
    measured: `p50 ${f(light?.p50, 2)} ms vs ${f(lightWs?.p50, 2)} ms = ${x(p50Ratio)}`,
  };
};

/** Memory per connection at 5,000, at rest against socket.io and under load against rest. */
const memoryGoal = (rows: readonly SummaryRow[], find: Find): GoalResult => {
  const mem = rows.find((r) => r.server === 'tickstream' && r.subscribers === 5000 && r.stalled === 0);
  const memSio =
    mem && (find('sio-emit', 5000, mem.symbols, mem.rate) ?? find('sio-batch', 5000, mem.symbols, mem.rate));
  const memRatio = ratio(mem?.rssIdleKBPerConn ?? NaN, memSio?.rssIdleKBPerConn ?? NaN);
  const loadRatio = ratio(mem?.rssLoadKBPerConn ?? NaN, mem?.rssIdleKBPerConn ?? NaN);
  return {
    goal: 'memory at 5,000 conns: idle ≤ 8 KB/conn and ≤ 0.5× socket.io; under load ≤ 1.3× idle',
    met: judge(
      [memRatio, loadRatio],
      [(mem?.rssIdleKBPerConn ?? Infinity) <= 8, memRatio <= 0.5, loadRatio <= 1.3],
    ),
    measured: `idle ${f(mem?.rssIdleKBPerConn, 1)} KB/conn = ${x(memRatio)} socket.io, load ${x(loadRatio)} idle`,
  };
};

/** Healthy clients' tail with 1% of clients stalled, against the same cell without them. */
const slowConsumersGoal = (rows: readonly SummaryRow[], find: Find): GoalResult => {
  const slow = rows.find((r) => r.server === 'tickstream' && r.stalled > 0);
  const healthy = slow && find('tickstream', slow.subscribers, slow.symbols, slow.rate, 0);
  const slowRatio = ratio(slow?.p99 ?? NaN, healthy?.p99 ?? NaN);
  return {
    goal: 'slow consumers (1% stalled): healthy clients p99 ≤ 1.2× the run without them',
    met: judge([slowRatio], [slowRatio <= 1.2]),
    measured: `p99 ${f(slow?.p99, 1)} ms vs ${f(healthy?.p99, 1)} ms = ${x(slowRatio)}; RSS under load ${f(slow?.rssLoadKBPerConn, 1)} vs ${f(healthy?.rssLoadKBPerConn, 1)} KB/conn`,
  };
};

/** The goals of issue 8 as ratios between servers in the same run. */
export const evaluateGoals = (rows: readonly SummaryRow[]): GoalResult[] => {
  const find = finder(rows);
  const invalid = rows.reduce((sum, r) => sum + r.invalid, 0);
  return [
    tickerLoadGoal(find),
    manyClientsGoal(find),
    lightLoadGoal(rows, find),
    memoryGoal(rows, find),
    slowConsumersGoal(rows, find),
    {
      goal: 'the load generator is never the bottleneck',
      met: rows.length === 0 ? undefined : invalid === 0,
      measured: `${invalid} invalid run(s) of ${rows.reduce((sum, r) => sum + r.runs, 0)}`,
    },
  ];
};
