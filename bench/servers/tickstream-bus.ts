/**
 * tickstream scaled out on Redis: a private redis-server, this process as the ingest (fed like
 * the single-process server) and two edge processes; clients alternate between the edges.
 * CPU and memory are the sum over all four processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Subject } from 'rxjs';
import { createLogger } from '../../src/log.ts';
import { hubConfig } from '../../src/hub/options.ts';
import { serve } from '../../src/serve.ts';
import type { Frame } from '../../src/source/frame.ts';
import { transportConfig } from '../../src/transport/options.ts';
import { startRedis } from '../../test/bus/redis-server.ts';
import { freePort } from '../../test/net.ts';
import { QuoteGenerator, tickerLine } from '../feed.ts';
import { hostFeed } from './host.ts';
import { DEFAULT_LEASE_MS, DEFAULT_SNAPSHOT_MS } from '../../src/bus/options.ts';

const EDGES = 2;
const READY_TIMEOUT_MS = 60_000;
/** The same transport flags as the single-process server, so only the bus differs. */
const TRANSPORT = {
  host: '127.0.0.1',
  heartbeat: '10m',
  'max-connections': '15000',
  'max-connections-per-ip': '100000',
  'max-items-per-ip': '1000000000',
  'max-request-bytes-per-ip': '1000000000',
};

const redis = await startRedis();
const bus = {
  url: redis.url,
  maxLen: 100_000,
  prefix: 'bench',
  leaseMs: DEFAULT_LEASE_MS,
  snapshotMs: DEFAULT_SNAPSHOT_MS,
};
const generator = new QuoteGenerator();
const frames$ = new Subject<Frame>();
const ingest = await serve(
  {
    source: { feed: '', speed: 1, intervalMs: 1000, loop: false },
    hub: hubConfig({}),
    transport: transportConfig({ ...TRANSPORT, port: '0' }),
    bus: { ...bus, role: 'ingest' },
  },
  createLogger(process.env.LOG_LEVEL ?? 'warn'),
  { kind: 'bench', frames$ },
);
frames$.next({ text: generator.all().map(tickerLine).join('\n'), origin: 'bench:initial' });

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const edges: { port: number; child: ChildProcess }[] = [];
for (let i = 0; i < EDGES; i++) {
  const port = await freePort();
  const flags = Object.entries({ ...TRANSPORT, port: String(port), bus: bus.url, role: 'edge' });
  const args = [
    '--import',
    'tsx',
    cli,
    'serve',
    '--bus-prefix',
    bus.prefix,
    ...flags.flatMap(([k, v]) => [`--${k}`, v]),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  edges.push({ port, child });
}
// Edges, then Redis, go with this process however it ends: no orphans on a shared machine.
process.once('exit', () => edges.forEach((e) => e.child.kill('SIGKILL')));
process.once('SIGTERM', () => process.exit(0));

/** Resolves once an edge serves the ingest's seq (it loaded the initial frame from Redis). */
const caughtUp = async (port: number) => {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const seq = await fetch(`http://127.0.0.1:${port}/healthz`)
      .then((r) => r.json() as Promise<{ seq: number }>)
      .then((h) => h.seq)
      .catch(() => -1);
    if (seq === ingest.hub.seq) return;
    if (Date.now() > deadline)
      throw new Error(`edge on port ${port} not caught up after ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
};
await Promise.all(edges.map((e) => caughtUp(e.port)));

hostFeed(
  {
    port: edges[0]!.port,
    ports: edges.map((e) => e.port),
    pids: [process.pid, ...edges.map((e) => e.child.pid!), redis.pid!],
    publish: (burst, stamp) =>
      frames$.next({ text: burst.map(tickerLine).join('\n'), origin: 'bench', capturedAt: stamp.date }),
  },
  generator,
);
