import type { ChildProcess } from 'node:child_process';
import { changesPerSymbol, SYMBOL_COUNT } from './feed.ts';
import { gcIn, type GcInWindow } from './gc-pauses.ts';
import { Histogram } from './histogram.ts';
import type { LoadCommand, LoadResult, ServerCommand } from './ipc.ts';
import { connectLoad, fromLoad, fromServer, sleep } from './children.ts';
import { ensureOpenFiles, FD_SPARE } from '../src/transport/open-files.ts';
import { cpuListSize, cpuSeconds, machineBusySeconds, rssBytes } from './proc.ts';
import { hiResNow } from './stamps.ts';
import { startServerUnderTest, stopChild, type ServerName, type StartedServer } from './servers.ts';
import type { Workload } from './workload.ts';

/** How the harness runs, beside the workload. */
export interface RunOptions {
  loadGenerators: number;
  /** Latency samples before this long into the feed are JIT warm-up, not counted. */
  warmupMs: number;
  /** How long to wait after the feed ends for deliveries still in flight. */
  drainMs: number;
  /**
   * After the feed ends, this long without a delivery ends the drain early (default 2 s): a bench
   * need not wait out `drainMs` for what is not coming. A test that counts every delivery on a
   * busy machine waits the whole drain instead (a starved server may go quiet for that long).
   */
  stallMs?: number;
  /** CPU lists for taskset (server, load generators); undefined runs unpinned. */
  pin?: { server: string; load: string };
  /** Write a V8 CPU profile of each node server into this directory. */
  cpuProfileDir?: string;
  /** More node flags for node servers under test (`--node-flags`). */
  nodeFlags?: string[];
  /** The load generators' C data plane (`native-load.ts`); absent: they read in JavaScript. */
  nativeLoadgen?: string;
}

/** What one run measured. Figures are NaN where nothing was there to measure. */
export interface RunResult {
  server: ServerName;
  workload: Workload;
  expected: number;
  delivered: number;
  deliveredPct: number;
  offeredPerSec: number;
  deliveriesPerSec: number;
  /** `hiRes`: the share of samples timed from the feed's sub-millisecond send times. */
  latencyMs: { p50: number; p99: number; p999: number; samples: number; hiRes: number };
  cpuSecPerMillion: number;
  rssBaseMB: number;
  rssIdleKBPerConn: number;
  rssLoadKBPerConn: number;
  bytesPerDelivery: number;
  /** The server's CPU share of one core from the feed's start to the end of the drain. */
  serverCpu: number;
  /** Deliveries per CPU second of the server: its capacity, robust to other load on the machine. */
  deliveriesPerCpuSec: number;
  /** Cores used by processes outside the run (other users' work) while it fed and drained. */
  otherCpu: number;
  /**
   * The load generators' CPU share: the busiest one's share of a core, or their sum over the
   * cores they share if that is higher (two on one core at 50% each have saturated it).
   */
  loadCpu: number;
  /** 1 for a cell's first try; more for reruns of a run whose load generator saturated. */
  attempt: number;
  /** Load generator CPU microseconds per delivery: its efficiency, comparable across runs. */
  loadCpuUsPerDelivery: number;
  /** The kernel's share of the load generators' CPU. */
  loadSystemShare: number;
  /** The server's GC pauses in the measured window; absent when the feed's process is not the whole server. */
  gc?: GcInWindow;
  valid: boolean;
  notes: string[];
}

/** A load generator above this CPU share may have been the bottleneck: the run is invalid. */
export const LOAD_SATURATED = 0.9;
/** Other processes using more than this many cores during a run make its figures noisy. */
const NOISY_CORES = 0.25;
/** A feed that needs this much longer than its duration had a server too busy to keep up. */
const LATE_FEED_MS = 100;
/** After the feed ends, this long without a delivery ends the drain early (`RunOptions.stallMs`). */
const STALL_MS = 2000;

/** The server under test with every client subscribed, and how to read its processes. */
interface Subscribed {
  sut: StartedServer;
  /** Every process of the server (a scaled-out one is several: edges, Redis). */
  pids: number[];
  /** Their RSS in bytes and CPU seconds, summed. */
  rss(): number;
  cpu(): number;
  rssBase: number;
  rssIdle: number;
  /** Healthy subscribers per symbol index. */
  subscribers: number[];
}

/** What the feed and the drain after it measured. */
interface Fed {
  measureFrom: number;
  startedAt: number;
  expected: number;
  delivered: number;
  cutOff: boolean;
  stalled: boolean;
  cpuUsed: number;
  wallSec: number;
  rssPeak: number;
  /** CPU seconds of the whole machine, of the feed's process when it is not the server's, and of this one. */
  machineUsed: number;
  feedCpu: number;
  ownCpuSec: number;
}

/**
 * One run: starts the server and load generators, subscribes every client, measures memory
 * at rest, feeds `rate` changes a second, waits for the deliveries to drain, then stops all.
 */
export const runOnce = async (
  server: ServerName,
  workload: Workload,
  options: RunOptions,
): Promise<RunResult> => {
  const notes: string[] = [];
  const profile = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const sut = await startServerUnderTest(server, options.pin?.server, [
    ...profile,
    ...(options.nodeFlags ?? []),
  ]);
  const loads: ChildProcess[] = [];
  try {
    const subscribed = await subscribeAll(server, sut, workload, options, loads, notes);
    const fed = await feedAndDrain(server, subscribed, loads, workload, options, notes);
    sut.feed.send({ type: 'stamps' } satisfies ServerCommand);
    const stamps = await fromServer(sut.feed, 'stamps', 10_000, `${server} stamps`);
    const results: LoadResult[] = [];
    for (const child of loads) {
      child.send({
        type: 'report',
        stamps: { keys: stamps.keys, times: stamps.times },
      } satisfies LoadCommand);
      results.push(await fromLoad(child, 'result', 10_000));
    }
    const lastReceipt = Math.max(...results.map((r) => r.lastReceiptAt));
    const wholeServer = subscribed.pids.length === 1 && subscribed.pids[0] === sut.feed.pid;
    const gc = wholeServer ? gcIn(stamps.gc, fed.measureFrom, lastReceipt) : undefined;
    return {
      server,
      workload,
      ...figures(subscribed, fed, results, workload, loadCores(options, loads.length), notes, options),
      ...(gc && { gc }),
      notes,
    };
  } finally {
    // Clients first, so each server's own shutdown has nobody left to say goodbye to.
    await Promise.all(loads.map((child) => stopChild(child)));
    await sut.stop();
  }
};

/**
 * Connects the load generators (collected in `loads`, for the caller to stop), lets every client
 * subscribe, and reads the server's memory before and after, at rest.
 */
const subscribeAll = async (
  server: ServerName,
  sut: StartedServer,
  workload: Workload,
  options: RunOptions,
  loads: ChildProcess[],
  notes: string[],
): Promise<Subscribed> => {
  const { port, ports, pids = [sut.pid] } = await fromServer(sut.feed, 'ready', 60_000, `${server} start`);
  const rss = () => pids.reduce((sum, pid) => sum + (rssBytes(pid) || 0), 0);
  const cpu = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const rssBase = rss();
  // Every socket is a descriptor: a low `ulimit -n` would fail the run half-way through connecting.
  for (const pid of pids) {
    const refused = ensureOpenFiles(pid, workload.subscribers + FD_SPARE);
    if (refused) notes.push(refused);
  }
  const n = Math.min(options.loadGenerators, workload.subscribers);
  const subscribedAll = Array.from({ length: n }, (_, g) => {
    const first = Math.floor((g * workload.subscribers) / n);
    const count = Math.floor(((g + 1) * workload.subscribers) / n) - first;
    const connect = {
      protocol: sut.protocol,
      url: sut.url(port),
      ...(ports && { urls: ports.map(sut.url) }),
      first,
      count,
      workload,
      ...(options.nativeLoadgen && { native: options.nativeLoadgen }),
    };
    const { child, subscribed } = connectLoad(options.pin?.load, connect, notes);
    loads.push(child);
    return subscribed;
  });
  const subscribers = (await Promise.all(subscribedAll)).reduce(
    (sum, r) => sum.map((x, i) => x + r.subscribers[i]!),
    new Array<number>(SYMBOL_COUNT).fill(0),
  );
  // Let snapshots drain and the heap settle before calling this the connections' resting size.
  await sleep(500);
  sut.feed.send({ type: 'gc' } satisfies ServerCommand);
  await sleep(500);
  return { sut, pids, rss, cpu, rssBase, rssIdle: rss(), subscribers };
};

/** Starts the load generators' counts, then the feed, and waits for its deliveries to drain. */
const feedAndDrain = async (
  server: ServerName,
  { sut, rss, cpu, rssIdle, subscribers }: Subscribed,
  loads: ChildProcess[],
  workload: Workload,
  options: RunOptions,
  notes: string[],
): Promise<Fed> => {
  const cpuBefore = cpu();
  const feedCpuBefore = cpuSeconds(sut.feed.pid!);
  const ownCpuBefore = process.cpuUsage();
  const machineBefore = machineBusySeconds();
  // Latency is timed on the high-resolution clock the feed stamps with (see stamps.ts).
  const measureFrom = hiResNow() + options.warmupMs;
  // Each generator zeroes its counts on `start`: the feed begins only once every one has, or
  // a generator slow to take it (the C data plane is two hops away) zeroes deliveries already made.
  const started = loads.map((child) => fromLoad(child, 'started', 10_000));
  loads.forEach((child) => child.send({ type: 'start', measureFrom } satisfies LoadCommand));
  await Promise.all(started);
  let rssPeak = rssIdle;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rss())), 200);
  try {
    const offered = Math.round((workload.rate * workload.durationMs) / 1000);
    const perSymbol = changesPerSymbol(offered);
    const expected = perSymbol.reduce((sum, changes, s) => sum + changes * subscribers[s]!, 0);
    const startedAt = Date.now();
    const drainEnd = startedAt + workload.durationMs + options.drainMs;
    sut.feed.send({
      type: 'start',
      rate: workload.rate,
      durationMs: workload.durationMs,
    } satisfies ServerCommand);
    const fed = await fromServer(sut.feed, 'fed', drainEnd - Date.now(), `${server} feed`).catch(
      () => undefined,
    );
    if (!fed) notes.push('server too busy to end the feed in time');
    else if (fed.endedAt - fed.startedAt > workload.durationMs + LATE_FEED_MS)
      notes.push(
        `feed fell behind: ${fed.endedAt - fed.startedAt} ms to offer ${workload.durationMs} ms of changes`,
      );
    const stallMs = fed === undefined ? Infinity : (options.stallMs ?? STALL_MS);
    const { delivered, stalled } = await drain(loads, expected, drainEnd, stallMs);
    return {
      measureFrom,
      startedAt,
      expected,
      delivered,
      cutOff: delivered < expected && Date.now() >= drainEnd,
      stalled,
      cpuUsed: cpu() - cpuBefore,
      wallSec: (Date.now() - startedAt) / 1000,
      rssPeak,
      machineUsed: machineBusySeconds() - machineBefore,
      feedCpu: sut.feed.pid === sut.pid ? 0 : cpuSeconds(sut.feed.pid!) - feedCpuBefore,
      ownCpuSec: (({ user, system }) => (user + system) / 1e6)(process.cpuUsage(ownCpuBefore)),
    };
  } finally {
    clearInterval(sampler);
  }
};

/**
 * Counts deliveries until all `expected` arrived, the drain time is up, or nothing moved for
 * `stallMs` (the feed over: nothing is coming); a server still inside a long send loop gets the full time.
 */
const drain = async (loads: ChildProcess[], expected: number, drainEnd: number, stallMs: number) => {
  let delivered = 0;
  let lastProgress = Date.now();
  for (;;) {
    loads.forEach((child) => child.send({ type: 'count' } satisfies LoadCommand));
    const counts = await Promise.all(loads.map((child) => fromLoad(child, 'count', 10_000)));
    const now = counts.reduce((sum, c) => sum + c.deliveries, 0);
    if (now > delivered) lastProgress = Date.now();
    delivered = now;
    const stalled = Date.now() - lastProgress >= stallMs;
    if (delivered >= expected || Date.now() >= drainEnd || stalled) return { delivered, stalled };
    await sleep(100);
  }
};

/** How many cores the load generators share. */
const loadCores = (options: RunOptions, count: number) =>
  Math.min(count, cpuListSize(options.pin?.load) ?? count);

/** The run's figures from what the server, the feed and the load generators measured; notes what they say. */
const figures = (
  { rssBase, rssIdle }: Subscribed,
  fed: Fed,
  results: LoadResult[],
  workload: Workload,
  cores: number,
  notes: string[],
  options: RunOptions,
) => {
  const latency = new Histogram();
  for (const r of results) latency.add(new Histogram(r.latencyCounts));
  const total = results.reduce((sum, r) => sum + r.deliveries, 0);
  const wire = results.reduce((sum, r) => sum + r.wireBytes, 0);
  const lastReceipt = Math.max(...results.map((r) => r.lastReceiptAt));
  noteClosesAndShortfall(results, total, fed, options, notes);
  const load = loadFigures(results, cores);
  const matched = results.reduce((sum, r) => sum + r.latencyMatched, 0);
  const sampled = results.reduce((sum, r) => sum + r.latencySamples, 0);
  // Everything else on the machine (other users' tests, say) competes for the same cores.
  const otherCpu =
    Math.max(0, fed.machineUsed - fed.cpuUsed - fed.feedCpu - load.cpuSec - load.pollingSec - fed.ownCpuSec) /
    fed.wallSec;
  const valid = load.cpu < LOAD_SATURATED;
  if (!valid) notes.push(`load generator at ${(load.cpu * 100).toFixed(0)}% CPU: it may be the bottleneck`);
  if (otherCpu > NOISY_CORES) notes.push(`other processes used ${otherCpu.toFixed(2)} cores: noisy`);
  const perConnKB = (bytes: number) => (bytes - rssBase) / 1024 / workload.subscribers;
  return {
    expected: fed.expected,
    delivered: total,
    deliveredPct: fed.expected > 0 ? (100 * total) / fed.expected : NaN,
    offeredPerSec: fed.expected / (workload.durationMs / 1000),
    deliveriesPerSec: total > 0 ? total / ((lastReceipt - fed.startedAt) / 1000) : 0,
    latencyMs: {
      p50: latency.percentile(0.5),
      p99: latency.percentile(0.99),
      p999: latency.percentile(0.999),
      samples: latency.total,
      hiRes: sampled > 0 ? matched / sampled : NaN,
    },
    cpuSecPerMillion: total > 0 ? (fed.cpuUsed / total) * 1e6 : NaN,
    rssBaseMB: rssBase / 2 ** 20,
    rssIdleKBPerConn: perConnKB(rssIdle),
    rssLoadKBPerConn: perConnKB(fed.rssPeak),
    bytesPerDelivery: total > 0 ? wire / total : NaN,
    serverCpu: fed.cpuUsed / fed.wallSec,
    deliveriesPerCpuSec: fed.cpuUsed > 0 ? total / fed.cpuUsed : NaN,
    otherCpu,
    loadCpu: load.cpu,
    attempt: 1,
    loadCpuUsPerDelivery: total > 0 ? (load.cpuSec / total) * 1e6 : NaN,
    loadSystemShare: results.reduce((sum, r) => sum + r.systemMs, 0) / 1000 / load.cpuSec,
    valid,
  };
};

/** Notes the clients the server closed, and why the run ended short of every delivery. */
const noteClosesAndShortfall = (
  results: LoadResult[],
  total: number,
  fed: Fed,
  options: RunOptions,
  notes: string[],
) => {
  const closed = new Map<string, number>();
  for (const r of results)
    for (const [code, count] of Object.entries(r.closedBy)) closed.set(code, (closed.get(code) ?? 0) + count);
  for (const [code, count] of closed) notes.push(`${count} client(s) closed by the server with ${code}`);
  // The last poll may have missed a few that landed before the final report.
  if (fed.cutOff && total < fed.expected) notes.push(`cut off ${options.drainMs} ms after the feed`);
  else if (fed.stalled && total < fed.expected)
    notes.push(`stopped waiting: no delivery for ${options.stallMs ?? STALL_MS} ms after the feed`);
};

/**
 * The load generators' CPU: seconds used and spent polling (the C data plane's own waiting: not
 * load), and the share that judges saturation: the busiest one's share of a core, or their sum
 * over the cores they share if that is higher (two on one core at 50% each have saturated it).
 */
const loadFigures = (results: LoadResult[], cores: number) => ({
  cpuSec: results.reduce((sum, r) => sum + r.cpuMs / 1000, 0),
  pollingSec: results.reduce((sum, r) => sum + (r.pollingMs ?? 0) / 1000, 0),
  cpu: Math.max(
    ...results.map((r) => r.cpuMs / r.wallMs),
    results.reduce((sum, r) => sum + r.cpuMs / r.wallMs, 0) / cores,
  ),
});
