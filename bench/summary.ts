import type { RunResult } from './run.ts';
import type { ServerName } from './servers.ts';
import type { Workload } from './workload.ts';

/** The figures of a run that a summary row holds as their median over the repeats. */
type MedianFigures = Pick<
  RunResult,
  | 'deliveredPct'
  | 'deliveriesPerSec'
  | 'cpuSecPerMillion'
  | 'rssIdleKBPerConn'
  | 'rssLoadKBPerConn'
  | 'bytesPerDelivery'
  | 'serverCpu'
  | 'deliveriesPerCpuSec'
  | 'otherCpu'
  | 'loadCpu'
>;

/** The median of each figure over the repeats of one server on one workload. */
export interface SummaryRow extends MedianFigures {
  server: ServerName;
  subscribers: number;
  symbols: Workload['symbols'];
  rate: number;
  stalled: number;
  runs: number;
  /** Runs where a load generator saturated: their figures are left out of the medians. */
  invalid: number;
  /** Runs made again because the one before saturated its load generator. */
  reruns: number;
  p50: number;
  p99: number;
  p999: number;
  /** The lowest and highest p99 of the runs the medians use: the spread a GC tail shows. */
  p99Min: number;
  p99Max: number;
  /** Median share of latency samples timed with sub-millisecond stamps (1: all of them). */
  hiRes: number;
  /** Of those runs, how many had a mark-compact in the measured window; NaN where none could tell. */
  majorGcRuns: number;
  /** The longest such pause in ms (0 for none; NaN where no run could tell). */
  majorGcLongestMs: number;
}

/** The median, NaN for none: with few noisy runs it moves less than the mean. */
export const median = (xs: number[]): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The least or greatest figure, NaN for none. */
const extreme = (pick: (...xs: number[]) => number, xs: number[]): number => {
  const known = xs.filter((x) => !Number.isNaN(x));
  return known.length > 0 ? pick(...known) : NaN;
};

/** How many of `runs` had a mark-compact in their window, and the longest; NaN when no run could tell. */
const majorGcFigures = (runs: readonly RunResult[]) => {
  const told = runs.flatMap((r) => (r.gc ? [r.gc.major] : []));
  if (told.length === 0) return { majorGcRuns: NaN, majorGcLongestMs: NaN };
  return {
    majorGcRuns: told.filter((g) => g.count > 0).length,
    majorGcLongestMs: Math.max(...told.map((g) => g.longestMs)),
  };
};

const key = (r: RunResult) =>
  [r.server, r.workload.subscribers, r.workload.symbols, r.workload.rate, r.workload.stalled].join('|');

/** Groups runs by server and workload, with each figure's median over the valid runs. */
export const summarize = (runs: readonly RunResult[]): SummaryRow[] => {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    const valid = group.filter((r) => r.valid);
    const use = valid.length > 0 ? valid : group;
    const m = (f: (r: RunResult) => number) => median(use.map(f));
    return {
      server: first.server,
      subscribers: first.workload.subscribers,
      symbols: first.workload.symbols,
      rate: first.workload.rate,
      stalled: first.workload.stalled,
      runs: group.length,
      invalid: group.length - valid.length,
      reruns: group.filter((r) => (r.attempt ?? 1) > 1).length,
      deliveredPct: m((r) => r.deliveredPct),
      deliveriesPerSec: m((r) => r.deliveriesPerSec),
      p50: m((r) => r.latencyMs.p50),
      p99: m((r) => r.latencyMs.p99),
      p999: m((r) => r.latencyMs.p999),
      p99Min: extreme(
        Math.min,
        use.map((r) => r.latencyMs.p99),
      ),
      p99Max: extreme(
        Math.max,
        use.map((r) => r.latencyMs.p99),
      ),
      hiRes: m((r) => r.latencyMs.hiRes ?? 0),
      cpuSecPerMillion: m((r) => r.cpuSecPerMillion),
      rssIdleKBPerConn: m((r) => r.rssIdleKBPerConn),
      rssLoadKBPerConn: m((r) => r.rssLoadKBPerConn),
      bytesPerDelivery: m((r) => r.bytesPerDelivery),
      serverCpu: m((r) => r.serverCpu),
      deliveriesPerCpuSec: m((r) => r.deliveriesPerCpuSec),
      otherCpu: m((r) => r.otherCpu),
      loadCpu: m((r) => r.loadCpu),
      ...majorGcFigures(use),
    };
  });
};

const fixed = (x: number, digits: number) => (Number.isNaN(x) ? '–' : x.toFixed(digits));
const COLUMNS: [string, (r: SummaryRow) => string][] = [
  ['server', (r) => r.server],
  ['subs', (r) => String(r.subscribers)],
  ['symbols', (r) => String(r.symbols)],
  ['rate/s', (r) => String(r.rate)],
  ['stalled', (r) => String(r.stalled)],
  ['delivered %', (r) => fixed(r.deliveredPct, 1)],
  ['deliveries/s', (r) => fixed(r.deliveriesPerSec, 0)],
  ['p50 ms', (r) => fixed(r.p50, 2)],
  ['p99 ms', (r) => fixed(r.p99, 1)],
  ['p999 ms', (r) => fixed(r.p999, 1)],
  ['CPU s/M', (r) => fixed(r.cpuSecPerMillion, 2)],
  ['deliveries/CPU s', (r) => fixed(r.deliveriesPerCpuSec, 0)],
  ['RSS KB/conn idle', (r) => fixed(r.rssIdleKBPerConn, 1)],
  ['load', (r) => fixed(r.rssLoadKBPerConn, 1)],
  ['B/delivery', (r) => fixed(r.bytesPerDelivery, 1)],
  ['server CPU', (r) => `${fixed(r.serverCpu * 100, 0)}%`],
  ['others CPU', (r) => fixed(r.otherCpu, 2)],
  ['loadgen CPU', (r) => `${fixed(r.loadCpu * 100, 0)}%`],
  [
    'runs',
    (r) => `${r.runs}${r.invalid ? ` (${r.invalid} invalid)` : ''}${r.reruns ? `, ${r.reruns} rerun` : ''}`,
  ],
];

/** The rows as a markdown table, which also reads well on a terminal. */
export const formatTable = (rows: readonly SummaryRow[]): string => {
  const cells = [COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, f]) => f(r)))];
  const widths = COLUMNS.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padStart(widths[c]!)).join(' | ')} |`;
  return [
    line(cells[0]!),
    `|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`,
    ...cells.slice(1).map(line),
  ].join('\n');
};
