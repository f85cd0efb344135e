import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { waitFor } from '../helpers.ts';
import { freePort } from '../net.ts';

/** A Redis for one test file: a private `redis-server` on a free port, or the one `REDIS_URL` names. */
export interface TestRedis {
  readonly url: string;
  /** False with REDIS_URL: that server is not ours to kill. */
  readonly private: boolean;
  /** The private server's process id (for CPU and memory figures); undefined with REDIS_URL. */
  readonly pid: number | undefined;
  /** Kills the server (SIGKILL, no goodbye to clients) and starts an empty one on the same port. */
  restart(): Promise<void>;
  /** A plain client for setting up faults; closed by `stop`. */
  admin(): Redis;
  stop(): Promise<void>;
}

/** A key prefix no other test shares, so tests can share one Redis. */
export const uniquePrefix = (): string => `test-${randomBytes(4).toString('hex')}`;

const launch = (port: number): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    // No persistence: a restart comes back empty, the hardest case for the cluster.
    const child = spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        // DEBUG SLEEP makes a slow Redis in the fault tests (Redis 7 refuses DEBUG by default).
        ...['--enable-debug-command', 'local'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.resume();
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out.slice(-500)}`)));
  });

const kill = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

/** Starts a private redis-server (or uses REDIS_URL); call `stop()` after the tests. */
export const startRedis = async (): Promise<TestRedis> => {
  const admins: Redis[] = [];
  const admin = (url: string) => () => {
    const client = new Redis(url, { protocol: 2, maxRetriesPerRequest: null });
    // It reconnects by itself across restart(); the refused connects meanwhile are expected.
    client.on('error', () => {});
    admins.push(client);
    return client;
  };
  const closeAdmins = () => Promise.all(admins.map((a) => a.quit().catch(() => a.disconnect())));
  const shared = process.env.REDIS_URL;
  if (shared)
    return {
      url: shared,
      private: false,
      pid: undefined,
      restart: () => Promise.reject(new Error('cannot restart the Redis REDIS_URL names')),
      admin: admin(shared),
      stop: async () => void (await closeAdmins()),
    };
  const port = await freePort();
  let child = await launch(port);
  // A test or benchmark process that dies without stop() must not leave a server behind.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    private: true,
    get pid() {
      return child.pid;
    },
    restart: async () => {
      await kill(child);
      child = await launch(port);
    },
    admin: admin(url),
    stop: async () => {
      process.off('exit', orphanGuard);
      await closeAdmins();
      await kill(child);
    },
  };
};

/** The arguments of one line MONITOR prints (`+<time> [<db> <client>] "cmd" "arg" …`), escapes undone. */
const monitorArgs = (line: string): string[] =>
  [...line.slice(line.indexOf('] "') + 2).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(([, quoted]) =>
    // Read as latin1, a char a byte: escapes are bytes too, and the bytes are UTF-8.
    Buffer.from(
      quoted!.replace(/\\(x[0-9a-f]{2}|.)/g, (_, e: string) =>
        String.fromCharCode(e.length === 3 ? parseInt(e.slice(1), 16) : (ESCAPED[e] ?? e.charCodeAt(0))),
      ),
      'latin1',
    ).toString('utf8'),
  );
const ESCAPED: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8 };

/**
 * The commands `redis` ran during `during` (scripts' own included), each as its arguments.
 * MONITOR on a plain socket: ioredis's monitor mode could take a line that came with MONITOR's
 * own reply for an answer and fail ("Command queue state error").
 */
export const commandsDuring = async (
  redis: TestRedis,
  during: () => Promise<unknown>,
): Promise<string[][]> => {
  const { hostname, port } = new URL(redis.url);
  const socket = connect(Number(port), hostname);
  const lines: string[] = [];
  let partial: string[] = [];
  // MONITOR streams behind the commands: a marker run after them shows it has caught up.
  const marker = `done-${uniquePrefix()}`;
  let caughtUp = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    // Lines end in CRLF; within one, MONITOR escapes every CR and LF.
    const parts = chunk.split('\n');
    for (const part of parts.slice(0, -1)) {
      const line = (partial.join('') + part).slice(0, -1);
      partial = [];
      lines.push(line);
      if (line.endsWith(`"${marker}"`)) caughtUp = true;
    }
    partial.push(parts.at(-1)!);
  });
  socket.on('error', () => {});
  socket.write('MONITOR\r\n');
  try {
    await waitFor(() => lines[0] === '+OK', 'MONITOR to start');
    await during();
    await redis.admin().echo(marker);
    await waitFor(() => caughtUp, 'MONITOR to catch up');
  } finally {
    socket.destroy();
  }
  return lines.slice(1).map(monitorArgs);
};
