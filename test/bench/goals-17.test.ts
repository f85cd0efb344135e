import { describe, expect, it } from 'vitest';
import { evaluateGoals17 } from '../../bench/goals-17.ts';
import { plan, roundOrder } from '../../bench/matrix.ts';
import { marginalKB, type MemoryResult } from '../../bench/memory.ts';
import { cpuListSize } from '../../bench/proc.ts';
import { summaryRow } from './summary-row.ts';

const memory = (server: MemoryResult['server'], marginalKBPerConn: number): MemoryResult => ({
  server,
  rssBaseMB: 60,
  idleKBPerConn: 9,
  marginalKBPerConn,
  notes: [],
});
const goal = (goals: ReturnType<typeof evaluateGoals17>, start: string) =>
  goals.find((g) => g.goal.startsWith(start))!;

describe('issue 17 goals', () => {
  const big = { subscribers: 5000, symbols: 5 as const };

  it('judges tickstream against sio-batch at every cell both ran, and the 1,000 × all ratios', () => {
    const rows = [
      summaryRow('tickstream', { p50: 5, p99: 20, cpuSecPerMillion: 0.6 }),
      summaryRow('sio-batch', { p50: 6, p99: 40, cpuSecPerMillion: 1 }),
      summaryRow('tickstream', { ...big, p50: 4, p99: 30, cpuSecPerMillion: 10 }),
      summaryRow('sio-batch', { ...big, p50: 3, p99: 30, cpuSecPerMillion: 12 }),
    ];
    const goals = evaluateGoals17(rows, []);
    const every = goal(goals, 'every cell');
    expect(every.met).toBe(false);
    expect(every.measured).toContain('5000 × 5 × 1000/s: p50 1.33×');
    expect(goal(goals, '1,000 × all').met).toBe(true);
    expect(goal(goals, '1,000 × all').measured).toContain('= 0.50×');
  });

  it('judges the GC tail over 5 valid runs only', () => {
    const gc = (runs: number, p99Max: number) => [
      summaryRow('tickstream', { ...big, runs, p99Min: 20, p99Max }),
    ];
    expect(goal(evaluateGoals17(gc(5, 29), []), 'GC tail').met).toBe(true);
    expect(goal(evaluateGoals17(gc(5, 31), []), 'GC tail').met).toBe(false);
    const few = goal(evaluateGoals17(gc(3, 21), []), 'GC tail');
    expect(few.met).toBeUndefined();
    expect(few.measured).toContain('needs 5');
  });

  it('judges marginal memory with the peers beside it', () => {
    const g = goal(evaluateGoals17([], [memory('tickstream', 5.5), memory('sio-batch', 16)]), 'memory');
    expect(g.met).toBe(true);
    expect(g.measured).toContain('sio-batch 16.0');
    expect(goal(evaluateGoals17([], [memory('tickstream', NaN)]), 'memory').met).toBeUndefined();
  });

  it('fails the load-generator goal on any invalid run and counts the reruns', () => {
    const rows = [
      summaryRow('tickstream', { runs: 2, invalid: 1, reruns: 1 }),
      summaryRow('ws', { runs: 1, invalid: 1 }),
    ];
    const g = goal(evaluateGoals17(rows, []), 'the load generator');
    expect(g.met).toBe(false);
    expect(g.measured).toContain('2 invalid run(s) of 3, 1 rerun(s)');
    expect(g.measured).toContain('no valid run: ws');
  });

  it('judges light load only with sub-millisecond stamps', () => {
    const light = { subscribers: 100, rate: 40 };
    const rows = (hiRes: number) => [
      summaryRow('tickstream', { ...light, p50: 1.1 }),
      summaryRow('ws', { ...light, p50: 1, hiRes }),
    ];
    expect(goal(evaluateGoals17(rows(1), []), 'light load').met).toBe(true);
    expect(goal(evaluateGoals17(rows(0.5), []), 'light load').met).toBeUndefined();
  });

  it('compares bars on with bars off within the noise allowance', () => {
    const off = summaryRow('tickstream-nobars', { p50: 10, p99: 40, cpuSecPerMillion: 1 });
    const on = (cpu: number) => summaryRow('tickstream', { p50: 10.5, p99: 40, cpuSecPerMillion: cpu });
    expect(goal(evaluateGoals17([on(1.05), off], []), 'bars on').met).toBe(true);
    expect(goal(evaluateGoals17([on(1.2), off], []), 'bars on').met).toBe(false);
    expect(goal(evaluateGoals17([on(1)], []), 'bars on').met).toBeUndefined();
  });

  it('reports tickstream against itself beside the goals, judging nothing by it', () => {
    const again = summaryRow('tickstream-again', { p50: 10, p99: 50, cpuSecPerMillion: 1 });
    const rows = [summaryRow('tickstream', { p50: 10, p99: 40, cpuSecPerMillion: 1 }), again];
    const noise = goal(evaluateGoals17(rows, []), 'no goal');
    expect(noise.met).toBeUndefined();
    expect(noise.measured).toBe('1000 × all × 1000/s: p50 1.00×, p99 0.80×, CPU 1.00×');
    expect(evaluateGoals17(rows.slice(0, 1), []).some((g) => g.goal.startsWith('no goal'))).toBe(false);
  });
});

describe('bench plan', () => {
  const base = { durationMs: 5000, seed: 1 };
  it('runs the GC cell 5 times in the default matrix and adds bars-off beside tickstream', () => {
    const cells = plan({ repeat: '3', 'bars-off': true }, base);
    const runsOf = (server: string, subscribers: number) =>
      cells.find((c) => c.server === server && c.workload.subscribers === subscribers)?.runs;
    expect(runsOf('tickstream', 5000)).toBe(5);
    expect(runsOf('sio-batch', 5000)).toBe(3);
    expect(runsOf('tickstream-nobars', 5000)).toBe(3);
    expect(cells.filter((c) => c.server === 'tickstream-nobars')).toHaveLength(3);
  });

  it('swaps tickstream and its variant every other round, other servers in place', () => {
    const cells = plan({ subs: '1000', symbols: 'all', rates: '1000', repeat: '2', 'bars-off': true }, base);
    const order = (r: number) => roundOrder(cells, r).map((c) => c.server);
    expect(order(0)).toEqual(['tickstream', 'tickstream-nobars', 'ws', 'sio-emit', 'sio-batch', 'mosquitto']);
    expect(order(1)).toEqual(['tickstream-nobars', 'tickstream', 'ws', 'sio-emit', 'sio-batch', 'mosquitto']);
    expect(order(2)).toEqual([]);
    const control = plan(
      { subs: '1000', symbols: 'all', rates: '1000', servers: 'tickstream', control: true },
      base,
    );
    expect(roundOrder(control, 0).map((c) => c.server)).toEqual(['tickstream', 'tickstream-again']);
  });

  it('adds no extra GC runs to a custom matrix unless asked', () => {
    expect(plan({ subs: '5000', symbols: '5', servers: 'tickstream' }, base)[0]!.runs).toBe(1);
    expect(plan({ subs: '5000', symbols: '5', servers: 'tickstream', 'gc-runs': '5' }, base)[0]!.runs).toBe(
      5,
    );
  });
});

describe('memory and process figures', () => {
  it('computes KB per connection between two readings', () => {
    expect(marginalKB(100 * 2 ** 20, 130 * 2 ** 20, 5000)).toBeCloseTo(6.144, 3);
  });

  it('counts the CPUs of a taskset list', () => {
    expect(cpuListSize('1-3')).toBe(3);
    expect(cpuListSize('0,2-3')).toBe(3);
    expect(cpuListSize('1')).toBe(1);
    expect(cpuListSize(undefined)).toBeUndefined();
  });
});
