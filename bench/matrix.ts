/**
 * Which cells the fan-out bench runs, and how often, from its flags: the default matrix or a
 * custom one, the extra variants (`--bus`, `--bars-off`) and the extra runs of the GC cell.
 */
import { num, str, type FlagValues } from '../src/options.ts';
import { BARS_OFF_SERVER, BUS_SERVER, CONTROL_SERVER, SERVER_NAMES, type ServerName } from './servers.ts';
import type { Workload } from './workload.ts';

/** The cell whose p99 spread over several runs shows the garbage collector's tail (issue 17). */
export const GC_CELL = { server: 'tickstream', subscribers: 5000, symbols: 5, rate: 1000 } as const;
/** Runs of the GC cell in the default matrix: the goal is judged over 5. */
export const DEFAULT_GC_RUNS = 5;

export const isGcCell = (server: ServerName, w: Workload): boolean =>
  server === GC_CELL.server &&
  w.subscribers === GC_CELL.subscribers &&
  w.symbols === GC_CELL.symbols &&
  w.rate === GC_CELL.rate &&
  w.stalled === 0;

/** One server on one workload, run `runs` times. */
export interface Cell {
  server: ServerName;
  workload: Workload;
  runs: number;
}

const list = (values: FlagValues, name: string): string[] | undefined =>
  str(values, name)
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const numbers = (values: FlagValues, name: string, min: number, max: number): number[] | undefined =>
  list(values, name)?.map((raw) => num({ [name]: raw }, name, 0, { min, max }));

const matrix = (
  values: FlagValues,
  base: Omit<Workload, 'subscribers' | 'symbols' | 'rate' | 'stalled'>,
): Omit<Cell, 'runs'>[] => {
  const servers = (list(values, 'servers') ?? [...SERVER_NAMES]).map((s) => {
    if (!(SERVER_NAMES as readonly string[]).includes(s))
      throw new Error(`--servers: unknown server "${s}"; known: ${SERVER_NAMES.join(', ')}`);
    return s as ServerName;
  });
  const symbols = list(values, 'symbols')?.map((s) =>
    s === 'all' ? ('all' as const) : num({ symbols: s }, 'symbols', 0, { min: 1, max: 500 }),
  );
  const custom = !isDefaultMatrix(values);
  const cells: Omit<Cell, 'runs'>[] = [];
  const add = (
    ss: readonly ServerName[],
    subscribers: number,
    sym: 'all' | number,
    rate: number,
    stalled = 0,
  ) => {
    for (const server of ss.filter((s) => servers.includes(s)))
      cells.push({ server, workload: { ...base, subscribers, symbols: sym, rate, stalled } });
  };
  if (!custom) {
    add(SERVER_NAMES, 1000, 'all', 1000);
    add(['tickstream', 'sio-emit', 'sio-batch'], 5000, 5, 1000);
    add(['tickstream', 'ws'], 100, 'all', 40);
    return cells;
  }
  const full = values.full === true;
  const subs = [
    ...(numbers(values, 'subs', 1, 100_000) ?? (full ? [100, 1000, 5000] : [1000])),
    ...(values.big === true ? [10_000] : []),
  ];
  for (const n of subs)
    for (const sym of symbols ?? (full ? ['all' as const, 5] : ['all' as const]))
      for (const rate of numbers(values, 'rates', 1, 100_000) ?? (full ? [10, 100, 1000] : [1000]))
        for (const stalled of numbers(values, 'stalled', 0, 0.5) ?? [0]) add(servers, n, sym, rate, stalled);
  return cells;
};

/** Whether the flags ask for the default matrix (no workload flag given). */
export const isDefaultMatrix = (values: FlagValues): boolean =>
  !(
    values.full === true ||
    ['subs', 'symbols', 'rates', 'stalled'].some((name) => values[name] !== undefined) ||
    values.big === true
  );

/**
 * The cells to run: the matrix, each tickstream cell followed by its variants, each run
 * `--repeat` times, and the GC cell at least `--gc-runs` times (default 5 with the default
 * matrix, so its goal is judged from the same bench run).
 */
export const plan = (
  values: FlagValues,
  base: Omit<Workload, 'subscribers' | 'symbols' | 'rate' | 'stalled'>,
): Cell[] => {
  const repeat = num(values, 'repeat', 1, { min: 1, max: 20 });
  const gcRuns = num(values, 'gc-runs', isDefaultMatrix(values) ? DEFAULT_GC_RUNS : 0, { min: 0, max: 20 });
  const bus = str(values, 'bus');
  if (bus !== undefined && bus !== 'redis') throw new Error(`--bus: only "redis" is known, got "${bus}"`);
  const barsOff = values['bars-off'] === true;
  const control = values.control === true;
  return matrix(values, base)
    .flatMap((cell): Omit<Cell, 'runs'>[] =>
      cell.server === 'tickstream'
        ? [
            cell,
            ...(bus ? [{ ...cell, server: BUS_SERVER as ServerName }] : []),
            ...(barsOff ? [{ ...cell, server: BARS_OFF_SERVER as ServerName }] : []),
            ...(control ? [{ ...cell, server: CONTROL_SERVER as ServerName }] : []),
          ]
        : [cell],
    )
    .map((cell) => ({
      ...cell,
      runs: isGcCell(cell.server, cell.workload) ? Math.max(repeat, gcRuns) : repeat,
    }));
};

/**
 * The cells of round `r` (0-based) in the order they run: a tickstream cell and its variants
 * (the cells after it on the same workload) swap order every other round, so neither always
 * runs first, right after another workload, or second, on a machine the first just warmed.
 */
export const roundOrder = (cells: readonly Cell[], r: number): Cell[] => {
  const groups: Cell[][] = [];
  for (const cell of cells) {
    const last = groups.at(-1);
    if (
      last &&
      cell.server !== 'tickstream' &&
      last[0]!.server === 'tickstream' &&
      last[0]!.workload === cell.workload
    )
      last.push(cell);
    else groups.push([cell]);
  }
  return groups.flatMap((group) => (r % 2 === 1 ? group.reverse() : group)).filter((c) => r < c.runs);
};
