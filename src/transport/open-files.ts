import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';

/**
 * Descriptors a process needs besides its clients' sockets (stdio, IPC, epoll, files, Redis,
 * plain HTTP).
 */
export const FD_SPARE = 200;
/** Of those, the ones no socket may take: the journal, Redis, stdio and the runtime's own. */
const FILES_SPARE = 100;

/** A process's soft and hard limit on open files, from /proc/<pid>/limits text (undefined if absent). */
export const openFileLimits = (limitsText: string): { soft: number; hard: number } | undefined => {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  if (!m) return undefined;
  const value = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: value(m[1]!), hard: value(m[2]!) };
};

const limitsOf = (pid: number) => {
  try {
    return openFileLimits(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  } catch {
    return undefined;
  }
};

/**
 * The sockets of every kind (WebSocket, SSE, plain HTTP) this process may hold at once, so that
 * however many clients come, its own files still open; Infinity where the limit cannot be read.
 */
export const socketRoom = (pid = process.pid): number => {
  const soft = limitsOf(pid)?.soft;
  return soft === undefined || soft === Infinity ? Infinity : Math.max(1, soft - FILES_SPARE);
};

/**
 * Makes sure `pid` may hold `needed` descriptors: raises its soft limit up to the hard one with
 * `prlimit` (util-linux; Node has no setrlimit) if needed. Returns why it cannot, or undefined
 * when the limit is enough or cannot be read (not Linux).
 */
export const ensureOpenFiles = (pid: number, needed: number): string | undefined => {
  const limits = limitsOf(pid);
  if (!limits || limits.soft >= needed) return undefined;
  if (limits.hard < needed)
    return `open-file limit of process ${pid} is ${limits.soft} (hard ${limits.hard}), needs ${needed}: raise ulimit -n`;
  try {
    execFileSync('prlimit', [`--pid=${pid}`, `--nofile=${limits.hard}:${limits.hard}`], { stdio: 'ignore' });
    return undefined;
  } catch (err) {
    return `cannot raise the open-file limit of process ${pid} to ${needed}: ${(err as Error).message}`;
  }
};

/**
 * The connections this process can hold: `maxConnections`, or fewer when the open-file limit
 * (raised to its hard limit where it can be) has no room for them. Past the limit the kernel
 * refuses sockets before the server sees them, with no refusal a client can read, and the
 * journal and Redis cannot open theirs either; so, as Redis does with maxclients, the limit is
 * lowered to fit, and the log says what to raise.
 */
export const connectionsWithinOpenFiles = (
  maxConnections: number,
  log: Logger,
  pid = process.pid,
): number => {
  const refused = ensureOpenFiles(pid, maxConnections + FD_SPARE);
  if (refused === undefined) return maxConnections;
  const soft = limitsOf(pid)?.soft ?? 0;
  const fits = Math.max(1, soft - FD_SPARE);
  log.warn(
    { openFiles: soft, maxConnections, lowered: fits, why: refused },
    'the open-file limit has no room for --max-connections: it is lowered to fit; raise LimitNOFILE (systemd) or ulimit -n',
  );
  return fits;
};
