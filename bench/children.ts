/** Waiting for the bench's child processes: IPC answers with deadlines. */
import type { ChildProcess } from 'node:child_process';
import { ensureOpenFiles, FD_SPARE } from '../src/transport/open-files.ts';
import type { LoadCommand, LoadReport, ServerReport } from './ipc.ts';
import { spawnNodeScript } from './servers.ts';

/** How long a load generator may take to connect and subscribe its share of the clients. */
const CONNECT_TIMEOUT_MS = 120_000;

/** Resolves with the first IPC message that `pick` accepts; fails on exit or timeout. */
export const nextMessage = <M, R>(
  child: ChildProcess,
  pick: (m: M) => R | Error | undefined,
  timeoutMs: number,
  what: string,
): Promise<R> =>
  new Promise((resolve, reject) => {
    const done = (finish: () => void) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      finish();
    };
    const onMessage = (m: M) => {
      const picked = pick(m);
      if (picked instanceof Error) done(() => reject(picked));
      else if (picked !== undefined) done(() => resolve(picked));
    };
    const onExit = (code: number | null) =>
      done(() => reject(new Error(`${what}: process exited (${code})`)));
    const timer = setTimeout(
      () => done(() => reject(new Error(`${what}: no answer in ${timeoutMs} ms`))),
      timeoutMs,
    );
    child.on('message', onMessage);
    child.once('exit', onExit);
  });

export const fromLoad = <T extends LoadReport['type']>(child: ChildProcess, type: T, timeoutMs: number) =>
  nextMessage<LoadReport, Extract<LoadReport, { type: T }>>(
    child,
    (m) => {
      if (m.type === 'failed') return new Error(`load generator: ${m.message}`);
      return m.type === type ? (m as Extract<LoadReport, { type: T }>) : undefined;
    },
    timeoutMs,
    `load generator (${type})`,
  );

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server's (or its feed process's) next report of `type`. */
export const fromServer = <T extends ServerReport['type']>(
  child: ChildProcess,
  type: T,
  timeoutMs: number,
  what: string,
) =>
  nextMessage<ServerReport, Extract<ServerReport, { type: T }>>(
    child,
    (m) => (m.type === type ? (m as Extract<ServerReport, { type: T }>) : undefined),
    timeoutMs,
    what,
  );

/**
 * Starts a load generator on `cpus` with room for its clients' descriptors (a refusal goes in
 * `notes`) and has it connect them; `subscribed` resolves once every one is subscribed.
 */
export const connectLoad = (
  cpus: string | undefined,
  connect: Omit<Extract<LoadCommand, { type: 'connect' }>, 'type'>,
  notes: string[],
) => {
  const child = spawnNodeScript(cpus, './loadgen.ts');
  const subscribed = fromLoad(child, 'subscribed', CONNECT_TIMEOUT_MS);
  const refused = ensureOpenFiles(child.pid!, connect.count + FD_SPARE);
  if (refused) notes.push(refused);
  child.send({ type: 'connect', ...connect } satisfies LoadCommand);
  return { child, subscribed };
};
