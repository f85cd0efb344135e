/**
 * Memory per connection as a marginal cost: the server's RSS at 10,000 idle subscribed clients
 * minus its RSS at 5,000, over 5,000. Unlike (RSS − base) / N it leaves out what a server
 * allocates once for its first few thousand connections (a young generation grown to size,
 * pools, tables), which a deployment with many connections pays only once.
 */
import type { ChildProcess } from 'node:child_process';
import { connectLoad, fromServer, sleep } from './children.ts';
import type { ServerCommand } from './ipc.ts';
import { ensureOpenFiles, FD_SPARE } from '../src/transport/open-files.ts';
import { rssBytes } from './proc.ts';
import { startServerUnderTest, stopChild, type ServerName } from './servers.ts';
import type { Workload } from './workload.ts';

/** The two populations: connections at the first measure, and at the second. */
export const MEMORY_STEPS = [5000, 10_000] as const;

export interface MemoryResult {
  server: ServerName;
  rssBaseMB: number;
  /** (RSS at 5,000 − base) / 5,000: today's idle figure, from this measurement. */
  idleKBPerConn: number;
  /** (RSS at 10,000 − RSS at 5,000) / 5,000. NaN when not measured. */
  marginalKBPerConn: number;
  notes: string[];
}

/** KB per connection between two RSS readings; the pure part of the measurement. */
export const marginalKB = (rssLow: number, rssHigh: number, connections: number): number =>
  (rssHigh - rssLow) / 1024 / connections;

/** RSS after a forced GC and a moment to settle, as the fan-out run measures rest. */
const restingRss = async (feed: ChildProcess, pid: number): Promise<number> => {
  await sleep(500);
  feed.send({ type: 'gc' } satisfies ServerCommand);
  await sleep(500);
  return rssBytes(pid);
};

/**
 * Starts `server`, connects 5,000 idle clients (5 random symbols each, as the 5,000 × 5 cell),
 * measures, connects 5,000 more from a second load generator, measures again. Each load
 * generator holds 5,000 sockets, the server 10,000. `steps`: other populations (tests).
 */
export const measureMemory = async (
  server: ServerName,
  pin: { server: string; load: string } | undefined,
  nodeFlags: string[] = [],
  steps: readonly [number, number] = MEMORY_STEPS,
): Promise<MemoryResult> => {
  const notes: string[] = [];
  const [step, total] = steps;
  if (total !== 2 * step) throw new RangeError(`memory steps must double: ${steps.join(' → ')}`);
  const workload: Workload = { subscribers: total, symbols: 5, rate: 0, durationMs: 0, stalled: 0, seed: 1 };
  const sut = await startServerUnderTest(server, pin?.server, nodeFlags);
  const loads: ChildProcess[] = [];
  const result = (base: number, idle: number, marginal: number): MemoryResult => ({
    server,
    rssBaseMB: base / 2 ** 20,
    idleKBPerConn: marginalKB(base, idle, step),
    marginalKBPerConn: marginal,
    notes,
  });
  try {
    const { port } = await fromServer(sut.feed, 'ready', 60_000, `${server} start`);
    const refused = ensureOpenFiles(sut.pid, total + FD_SPARE);
    if (refused) notes.push(refused);
    const base = rssBytes(sut.pid);
    const rss: number[] = [];
    for (let g = 0; g < 2; g++) {
      const connect = { protocol: sut.protocol, url: sut.url(port), first: g * step, count: step, workload };
      const { child, subscribed } = connectLoad(pin?.load, connect, notes);
      loads.push(child);
      try {
        await subscribed;
      } catch (err) {
        notes.push(`${(g + 1) * step} connections: ${(err as Error).message}`);
        return result(base, rss[0] ?? NaN, NaN);
      }
      rss.push(await restingRss(sut.feed, sut.pid));
    }
    return result(base, rss[0]!, marginalKB(rss[0]!, rss[1]!, total - step));
  } finally {
    await Promise.all(loads.map((child) => stopChild(child)));
    await sut.stop();
  }
};
