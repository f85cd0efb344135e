/**
 * `npm run bench`: the fan-out benchmark. Runs every selected server on the same workloads,
 * reruns a run whose load generator saturated, measures memory per connection as a marginal
 * cost, prints a table of medians and the goals of issues 8 and 17, and writes
 * bench/results/fanout-*.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { duration, num, str, type FlagValues } from '../src/options.ts';
import type { Pauses } from './gc-pauses.ts';
import { evaluateGoals17 } from './goals-17.ts';
import { evaluateGoals, type GoalResult } from './goals.ts';
import { DEFAULT_GC_RUNS, GC_CELL, isDefaultMatrix, plan, roundOrder, type Cell } from './matrix.ts';
import { MEMORY_STEPS, measureMemory, type MemoryResult } from './memory.ts';
import { LOAD_SATURATED, runOnce, type RunOptions, type RunResult } from './run.ts';
import { buildNativeLoadgen } from './native-load.ts';
import { BARS_OFF_SERVER, BUS_SERVER, CONTROL_SERVER, SERVER_NAMES, type ServerName } from './servers.ts';
import { formatTable, summarize } from './summary.ts';

const HELP = `npm run bench -- [flags]

With no workload flags, runs the default matrix (a few minutes): every server at
1,000 subscribers × all symbols × 1,000 changes/s; tickstream and both socket.io peers at
5,000 × 5 random symbols × 1,000/s (tickstream ${DEFAULT_GC_RUNS} times at least, for the GC tail);
tickstream and ws at 100 × all × 40/s (light load); and memory per connection as a marginal
cost for tickstream, sio-batch and ws.

  --servers LIST     ${SERVER_NAMES.join(',')} (default: all)
  --bus redis        beside each tickstream run, the same workload on ${BUS_SERVER}: one ingest
                     and 2 edges on a private redis-server, clients alternating between the edges
  --subs LIST        subscriber counts, e.g. 100,1000,5000 (selects a custom matrix)
  --symbols LIST     all and/or a number of random symbols per client, e.g. all,5
  --rates LIST       quote changes per second, e.g. 10,100,1000
  --stalled LIST     fractions of clients that stop reading, e.g. 0,0.01
  --bars-off         beside each tickstream run, the same workload on ${BARS_OFF_SERVER}
                     (tickstream with --bar-days 0), for issue 16's "not slower with bars on"
  --control          beside each tickstream run, the same server again (${CONTROL_SERVER}): how
                     far two runs of one server differ here, to read the ratios between servers
  --full             subs 100,1000,5000 × symbols all,5 × rates 10,100,1000
  --big              adds 10,000 subscribers to the matrix
  --duration D       feed time per run (default 5s)
  --warmup D         latency samples before this are not counted (default 1s)
  --drain D          wait this long at most for deliveries after the feed ends (default 5s)
  --repeat N         runs of each cell; the table shows medians (default 1)
  --gc-runs N        runs of tickstream ${GC_CELL.subscribers} × ${GC_CELL.symbols} × ${GC_CELL.rate}/s at least (default ${DEFAULT_GC_RUNS} with the
                     default matrix, else 0): max p99 / min p99 over them is the GC-tail goal
  --reruns N         a run whose load generator reached ${LOAD_SATURATED * 100}% CPU is run again, up to N
                     times (default 2); every try is kept, reported and counted in the table
  --memory LIST|off  servers whose RSS is measured at ${MEMORY_STEPS[0]} and ${MEMORY_STEPS[1]} idle clients (marginal
                     KB/conn); default tickstream,sio-batch,ws with the default matrix, else off
  --load-gens N      load generator processes (default: one per core not running the server)
  --cpu-prof DIR     write a V8 CPU profile of each node server to DIR (open in Chrome DevTools)
  --node-flags=…     more node/V8 flags for every node server under test, e.g. --node-flags=--trace-gc
  --no-pin           do not pin the server and the load generators to separate cores
  --js-loadgen       read every client in JavaScript, not with the C data plane
                     (bench/native/loadgen.c, built with the system's cc when the bench starts)
  --out FILE         results file (default bench/results/fanout-<time>.json)
`;

/** `count` pauses of a kind, with their longest. */
const pauses = ({ count, longestMs }: Pauses, kind: string) =>
  `${count} ${kind}${count === 1 ? '' : 's'}${count ? ` (longest ${longestMs.toFixed(1)} ms)` : ''}`;

/** How a run went, on one line. */
const describe = (result: RunResult): string =>
  `${result.deliveredPct.toFixed(1)}% delivered, ${Math.round(result.deliveriesPerSec)}/s, ` +
  `p50 ${result.latencyMs.p50.toFixed(2)} p99 ${result.latencyMs.p99.toFixed(1)} ms, ` +
  `loadgen ${(result.loadCpu * 100).toFixed(0)}% (${result.loadCpuUsPerDelivery.toFixed(2)} µs/delivery, ` +
  `${(result.loadSystemShare * 100).toFixed(0)}% kernel)` +
  `${result.gc ? `, GC in window: ${pauses(result.gc.major, 'mark-compact')}, ${pauses(result.gc.minor, 'scavenge')}` : ''}` +
  `${result.valid ? '' : ' (INVALID)'}` +
  `${result.notes.length ? `; ${result.notes.join('; ')}` : ''}`;

/** Runs a cell once, and again (at most `reruns` times) while its load generator saturates. */
const runCell = async (
  cell: Cell,
  label: string,
  options: RunOptions,
  reruns: number,
): Promise<RunResult[]> => {
  const results: RunResult[] = [];
  for (let attempt = 1; attempt <= 1 + reruns; attempt++) {
    process.stderr.write(`${label}${attempt > 1 ? ` rerun ${attempt - 1}/${reruns}` : ''} … `);
    try {
      const result = { ...(await runOnce(cell.server, cell.workload, options)), attempt };
      results.push(result);
      process.stderr.write(`${describe(result)}\n`);
      if (result.valid) break;
    } catch (err) {
      process.stderr.write(`failed: ${(err as Error).message}\n`);
      break;
    }
  }
  return results;
};

const MEMORY_DEFAULT: ServerName[] = ['tickstream', 'sio-batch', 'ws'];

/** Which servers get the marginal-memory measurement. */
const memoryServers = (v: FlagValues, selected: readonly ServerName[]): ServerName[] => {
  const raw = str(v, 'memory');
  if (raw === 'off') return [];
  if (raw === undefined || raw === 'on')
    return raw === undefined && !isDefaultMatrix(v) ? [] : MEMORY_DEFAULT.filter((s) => selected.includes(s));
  return raw.split(',').map((s) => {
    const name = s.trim();
    if (!(SERVER_NAMES as readonly string[]).includes(name) || name === 'mosquitto')
      throw new Error(`--memory: unknown or unsupported server "${name}"`);
    return name as ServerName;
  });
};

const goalLines = (title: string, goals: readonly GoalResult[]) =>
  `${title}\n${goals.map((g) => `${g.met === undefined ? '—      ' : g.met ? 'MET    ' : 'NOT MET'}  ${g.goal}: ${g.measured}`).join('\n')}`;

const memoryTable = (memory: readonly MemoryResult[]) =>
  memory.length === 0
    ? ''
    : `\nMemory per connection (idle, ${MEMORY_STEPS[0]} → ${MEMORY_STEPS[1]} clients of 5 symbols):\n` +
      memory
        .map(
          (m) =>
            `  ${m.server.padEnd(10)} idle ${m.idleKBPerConn.toFixed(1)} KB/conn at ${MEMORY_STEPS[0]}, marginal ` +
            `${Number.isNaN(m.marginalKBPerConn) ? '–' : m.marginalKBPerConn.toFixed(1)} KB/conn` +
            `${m.notes.length ? ` (${m.notes.join('; ')})` : ''}`,
        )
        .join('\n') +
      '\n';

const FLAGS = {
  servers: { type: 'string' },
  bus: { type: 'string' },
  subs: { type: 'string' },
  symbols: { type: 'string' },
  rates: { type: 'string' },
  stalled: { type: 'string' },
  'bars-off': { type: 'boolean' },
  control: { type: 'boolean' },
  full: { type: 'boolean' },
  big: { type: 'boolean' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  drain: { type: 'string' },
  repeat: { type: 'string' },
  'gc-runs': { type: 'string' },
  reruns: { type: 'string' },
  memory: { type: 'string' },
  'load-gens': { type: 'string' },
  'no-pin': { type: 'boolean' },
  'cpu-prof': { type: 'string' },
  'node-flags': { type: 'string' },
  'js-loadgen': { type: 'boolean' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** How every run goes: pinning, load generators (the C data plane unless --js-loadgen), windows, flags. */
const runOptions = (v: FlagValues, cores: number): { options: RunOptions; loaderNote: string } => {
  const pin = v['no-pin'] !== true && cores >= 2;
  // More load generators than cores to run them would share a core and add nothing.
  const loadCores = pin ? cores - 1 : 1;
  const options: RunOptions = {
    loadGenerators: num(v, 'load-gens', loadCores, { min: 1, max: 16 }),
    warmupMs: duration(v, 'warmup', 1000),
    drainMs: duration(v, 'drain', 5000),
    ...(pin && { pin: { server: '0', load: `1-${cores - 1}` } }),
    ...(str(v, 'cpu-prof') !== undefined && { cpuProfileDir: str(v, 'cpu-prof') }),
    nodeFlags: str(v, 'node-flags')?.split(/\s+/).filter(Boolean) ?? [],
  };
  const native = v['js-loadgen'] === true ? { note: 'JavaScript only (--js-loadgen)' } : buildNativeLoadgen();
  if (native.binary) options.nativeLoadgen = native.binary;
  const placed = pin ? ', server on core 0, load on the rest' : ', unpinned';
  return { options, loaderNote: `${placed}, ${options.loadGenerators} load generator(s), ${native.note}` };
};

/** Every cell's runs; repeats go round the whole matrix, so a noisy minute smears over every server alike. */
const runMatrix = async (cells: Cell[], options: RunOptions, reruns: number): Promise<RunResult[]> => {
  const runs: RunResult[] = [];
  const rounds = Math.max(0, ...cells.map((c) => c.runs));
  for (let r = 0; r < rounds; r++) {
    for (const cell of roundOrder(cells, r)) {
      const w = cell.workload;
      const label = `[${r + 1}/${cell.runs}] ${cell.server} ${w.subscribers}×${w.symbols}@${w.rate}/s${w.stalled ? ` stalled ${w.stalled}` : ''}`;
      runs.push(...(await runCell(cell, label, options, reruns)));
    }
  }
  return runs;
};

/** Marginal memory per connection of each server named, printed as each is measured. */
const measureMemories = async (servers: ServerName[], options: RunOptions): Promise<MemoryResult[]> => {
  const memory: MemoryResult[] = [];
  for (const server of servers) {
    process.stderr.write(`memory ${server} ${MEMORY_STEPS.join(' → ')} idle … `);
    try {
      const m = await measureMemory(server, options.pin, options.nodeFlags);
      memory.push(m);
      process.stderr.write(
        `idle ${m.idleKBPerConn.toFixed(1)}, marginal ${m.marginalKBPerConn.toFixed(1)} KB/conn` +
          `${m.notes.length ? `; ${m.notes.join('; ')}` : ''}\n`,
      );
    } catch (err) {
      process.stderr.write(`failed: ${(err as Error).message}\n`);
    }
  }
  return memory;
};

const main = async () => {
  const v = parseArgs({ options: FLAGS, strict: true }).values as FlagValues;
  if (v.help === true) {
    process.stdout.write(HELP);
    return;
  }
  const cores = availableParallelism();
  const { options, loaderNote } = runOptions(v, cores);
  const repeat = num(v, 'repeat', 1, { min: 1, max: 20 });
  const reruns = num(v, 'reruns', 2, { min: 0, max: 5 });
  const cells = plan(v, { durationMs: duration(v, 'duration', 5000), seed: 1 });
  const memoryFor = memoryServers(v, [...new Set(cells.map((c) => c.server))]);
  const machine = {
    cores,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: process.platform,
  };
  process.stderr.write(
    `fan-out bench: ${cells.length} cells × ${repeat} on ${cores} cores (${machine.cpu}), Node ${machine.node}${loaderNote}\n`,
  );

  const startedAt = new Date().toISOString();
  const runs = await runMatrix(cells, options, reruns);
  const memory = await measureMemories(memoryFor, options);
  const rows = summarize(runs);
  const goals = evaluateGoals(rows);
  const goals17 = evaluateGoals17(rows, memory);
  process.stdout.write(
    `\n${formatTable(rows)}\n${memoryTable(memory)}\n${goalLines('Goals of issue 8', goals)}\n\n` +
      `${goalLines('Goals of issue 17', goals17)}\n`,
  );

  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  const out = str(v, 'out') ?? `${resultsDir}fanout-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ machine, options, repeat, reruns, startedAt, rows, memory, goals, goals17, runs }, null, 2)}\n`,
  );
  process.stderr.write(`results: ${out}\n`);
};

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(2);
});
