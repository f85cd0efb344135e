import { spawn, type ChildProcess } from 'node:child_process';
import { repoPath, waitFor } from './helpers.ts';

/** A `tickstream` command running as its own process, as a user runs it, with its JSON log. */
export interface ServerChild {
  child: ChildProcess;
  /** The listening port (serve only; 0 for commands that do not listen). */
  port: number;
  /** Every log line so far, parsed. */
  logs: () => Record<string, unknown>[];
  exited: Promise<number | null>;
  /** Kills it (SIGKILL unless told otherwise) and waits for the exit. */
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

/**
 * Starts `tickstream <command> ARGS` with node + tsx (no npx in between, so a signal reaches
 * the server itself); for `serve`, resolves once it listens. stdin is a pipe the test may write;
 * `env` is added to the test's own environment.
 */
export const spawnTickstream = async (
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  { listenTimeoutMs = 20_000, prefix = [] }: { listenTimeoutMs?: number; prefix?: string[] } = {},
): Promise<ServerChild> => {
  // `prefix`: a command that execs node in its place (prlimit), so the pid is still the server's.
  const [file, ...rest] = [
    ...prefix,
    process.execPath,
    '--import',
    'tsx',
    repoPath('src/cli.ts'),
    command,
    ...args,
  ];
  const child = spawn(file!, rest, {
    cwd: repoPath(''),
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code)),
  );
  const logs = () =>
    log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const port =
    command === 'serve'
      ? await waitFor(
          () => logs().find((l) => l.msg === 'listening')?.port as number | undefined,
          'the server to listen',
          listenTimeoutMs,
        ).catch((err: unknown) => {
          // A server that never listened must not run on unseen after the caller gave up.
          child.kill('SIGKILL');
          throw err;
        })
      : 0;
  return {
    child,
    port,
    logs,
    exited,
    stop: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
};
