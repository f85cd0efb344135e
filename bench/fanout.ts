/**
 * `npm run bench`: the fan-out benchmark. Runs every selected server on the same workloads,
 * prints a table of medians and the goals of issue 8, and writes bench/results/fanout-*.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { duration, num, str, type FlagValues } from '../src/options.ts';
import { evaluateGoals } from './goals.ts';
import { runOnce, type RunOptions, type RunResult } from './run.ts';
import { BUS_SERVER, SERVER_NAMES, type ServerName } from './servers.ts';
import { formatTable, summarize } from './summary.ts';
import type { Workload } from './workload.ts';

const HELP = `npm run bench -- [flags]

With no workload flags, runs the default matrix (a few minutes): every server at
1,000 subscribers × all symbols × 1,000 changes/s; tickstream and both socket.io peers at
5,000 × 5 random symbols × 1,000/s; tickstream and ws at 100 × all × 40/s (light load).

  --servers LIST     ${SERVER_NAMES.join(',')} (default: all)
  --bus redis        beside each tickstream run, the same workload on ${BUS_SERVER}: one ingest
                     and 2 edges on a private redis-server, clients alternating between the edges
  --subs LIST        subscriber counts, e.g. 100,1000,5000 (selects a custom matrix)
  --symbols LIST     all and/or a number of random symbols per client, e.g. all,5
  --rates LIST       quote changes per second, e.g. 10,100,1000
  --stalled LIST     fractions of clients that stop reading, e.g. 0,0.01
  --full             subs 100,1000,5000 × symbols all,5 × rates 10,100,1000
  --big              adds 10,000 subscribers to the matrix
  --duration D       feed time per run (default 5s)
  --warmup D         latency samples before this are not counted (default 1s)
  --drain D          wait this long at most for deliveries after the feed ends (default 5s)
  --repeat N         runs of each cell; the table shows medians (default 1)
  --load-gens N      load generator processes (default 1)
  --cpu-prof DIR     write a V8 CPU profile of each node server to DIR (open in Chrome DevTools)
  --node-flags=…     more node/V8 flags for every node server under test, e.g. --node-flags=--trace-gc
  --no-pin           do not pin the server and the load generators to separate cores
  --out FILE         results file (default bench/results/fanout-<time>.json)
`;

interface Cell {
  server: ServerName;
  workload: Workload;
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
): Cell[] => {
  const servers = (list(values, 'servers') ?? [...SERVER_NAMES]).map((s) => {
    if (!(SERVER_NAMES as readonly string[]).includes(s))
      throw new Error(`--servers: unknown server "${s}"; known: ${SERVER_NAMES.join(', ')}`);
    return s as ServerName;
  });
  const symbols = list(values, 'symbols')?.map((s) =>
    s === 'all' ? ('all' as const) : num({ symbols: s }, 'symbols', 0, { min: 1, max: 500 }),
  );
  const custom =
    values.full === true ||
    ['subs', 'symbols', 'rates', 'stalled'].some((name) => values[name] !== undefined) ||
    values.big === true;
  const cells: Cell[] = [];
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

const main = async () => {
  const { values } = parseArgs({
    options: {
      servers: { type: 'string' },
      bus: { type: 'string' },
      subs: { type: 'string' },
      symbols: { type: 'string' },
      rates: { type: 'string' },
      stalled: { type: 'string' },
      full: { type: 'boolean' },
      big: { type: 'boolean' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      drain: { type: 'string' },
      repeat: { type: 'string' },
      'load-gens': { type: 'string' },
      'no-pin': { type: 'boolean' },
      'cpu-prof': { type: 'string' },
      'node-flags': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const v = values as FlagValues;
  if (v.help === true) {
    process.stdout.write(HELP);
    return;
  }
  const cores = availableParallelism();
  const pin = v['no-pin'] !== true && cores >= 2;
  const options: RunOptions = {
    loadGenerators: num(v, 'load-gens', 1, { min: 1, max: 16 }),
    warmupMs: duration(v, 'warmup', 1000),
    drainMs: duration(v, 'drain', 5000),
    ...(pin && { pin: { server: '0', load: `1-${cores - 1}` } }),
    ...(str(v, 'cpu-prof') !== undefined && { cpuProfileDir: str(v, 'cpu-prof') }),
    nodeFlags: str(v, 'node-flags')?.split(/\s+/).filter(Boolean) ?? [],
  };
  const repeat = num(v, 'repeat', 1, { min: 1, max: 20 });
  const bus = str(v, 'bus');
  if (bus !== undefined && bus !== 'redis') throw new Error(`--bus: only "redis" is known, got "${bus}"`);
  const cells = matrix(v, { durationMs: duration(v, 'duration', 5000), seed: 1 }).flatMap((cell): Cell[] =>
    bus && cell.server === 'tickstream' ? [cell, { ...cell, server: BUS_SERVER }] : [cell],
  );
  const machine = {
    cores,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: process.platform,
  };
  process.stderr.write(
    `fan-out bench: ${cells.length} cells × ${repeat} on ${cores} cores (${machine.cpu}), Node ${machine.node}` +
      `${pin ? ', server on core 0, load on the rest' : ', unpinned'}\n`,
  );

  const startedAt = new Date().toISOString();
  const runs: RunResult[] = [];
  // Repeats go round the whole matrix, so a noisy minute smears over every server alike.
  for (let r = 0; r < repeat; r++) {
    for (const cell of cells) {
      const w = cell.workload;
      const label = `${cell.server} ${w.subscribers}×${w.symbols}@${w.rate}/s${w.stalled ? ` stalled ${w.stalled}` : ''}`;
      process.stderr.write(`[${r + 1}/${repeat}] ${label} … `);
      try {
        const result = await runOnce(cell.server, w, options);
        runs.push(result);
        process.stderr.write(
          `${result.deliveredPct.toFixed(1)}% delivered, ${Math.round(result.deliveriesPerSec)}/s, ` +
            `p99 ${result.latencyMs.p99.toFixed(1)} ms${result.valid ? '' : ' (INVALID)'}` +
            `${result.notes.length ? `; ${result.notes.join('; ')}` : ''}\n`,
        );
      } catch (err) {
        process.stderr.write(`failed: ${(err as Error).message}\n`);
      }
    }
  }

  const rows = summarize(runs);
  const goals = evaluateGoals(rows);
  process.stdout.write(
    `\n${formatTable(rows)}\n\n${goals.map((g) => `${g.met === undefined ? '—' : g.met ? 'MET    ' : 'NOT MET'}  ${g.goal}: ${g.measured}`).join('\n')}\n`,
  );

  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  const out = str(v, 'out') ?? `${resultsDir}fanout-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ machine, options, repeat, startedAt, rows, goals, runs }, null, 2)}\n`,
  );
  process.stderr.write(`results: ${out}\n`);
};

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(2);
});
