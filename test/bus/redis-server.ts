import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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

/** The commands `redis` ran during `during` (scripts' own included), each as its arguments. */
export const commandsDuring = async (
  redis: TestRedis,
  during: () => Promise<unknown>,
): Promise<string[][]> => {
  const commands: string[][] = [];
  const monitor = await redis.admin().duplicate().monitor();
  monitor.on('monitor', (_t, args: string[]) => commands.push(args));
  // MONITOR streams behind the commands: a marker run after them shows it has caught up.
  const marker = `done-${uniquePrefix()}`;
  const seen = () => commands.some(([command, text]) => /^echo$/i.test(command!) && text === marker);
  try {
    await during();
    await redis.admin().echo(marker);
    await waitFor(seen, 'MONITOR to catch up');
  } finally {
    monitor.disconnect();
  }
  return commands;
};
