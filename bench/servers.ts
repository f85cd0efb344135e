import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/net.ts';
import type { ClientProtocol } from './ipc.ts';

/** The servers a run can compare. */
export const SERVER_NAMES = ['tickstream', 'ws', 'sio-emit', 'sio-batch', 'mosquitto'] as const;
/** tickstream as one ingest and two edges on a private Redis: only with `--bus redis`. */
export const BUS_SERVER = 'tickstream-redis';
/** tickstream without bars (`--bar-days 0`): only with `--bars-off`. */
export const BARS_OFF_SERVER = 'tickstream-nobars';
/** tickstream again, the same server: only with `--control`, to show the bench's own noise. */
export const CONTROL_SERVER = 'tickstream-again';
export type ServerName =
  (typeof SERVER_NAMES)[number] | typeof BUS_SERVER | typeof BARS_OFF_SERVER | typeof CONTROL_SERVER;

/** A started server under test. */
export interface StartedServer {
  /** The process that takes the feed's IPC commands (the server itself, or mosquitto's publisher). */
  feed: ChildProcess;
  /** The process whose CPU and memory are measured. */
  pid: number;
  protocol: ClientProtocol;
  /** Where clients connect, once the feed reported its port. */
  url: (port: number) => string;
  stop(): Promise<void>;
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * Starts `command` pinned to `cpus` (taskset) when pinning is on. Pinning puts the server on
 * one core and the load generators on the other, so neither steals the other's time.
 */
export const spawnPinned = (
  cpus: string | undefined,
  command: string,
  args: string[],
  ipc: boolean,
): ChildProcess =>
  spawn(
    cpus === undefined ? command : 'taskset',
    cpus === undefined ? args : ['-c', cpus, command, ...args],
    {
      stdio: ['ignore', 'ignore', 'inherit', ...(ipc ? (['ipc'] as const) : [])],
    },
  );

/** Runs a TypeScript file under node with tsx; the child's pid is node's (taskset execs it). */
export const spawnNodeScript = (
  cpus: string | undefined,
  file: string,
  args: string[] = [],
  nodeFlags: string[] = [],
) =>
  spawnPinned(
    cpus,
    process.execPath,
    ['--expose-gc', ...nodeFlags, '--import', 'tsx', here(file), ...args],
    true,
  );

/** Ends a child: SIGTERM, then SIGKILL if it is still there after a grace period. */
export const stopChild = (child: ChildProcess, graceMs = 3000): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });

const accepting = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const waitUntilAccepting = async (port: number, timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await accepting(port))) {
    if (Date.now() > deadline) throw new Error(`nothing listening on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/**
 * Starts mosquitto with its own temporary config: an MQTT listener for the publisher (2.0.11
 * refuses to start with a WebSocket listener alone) and a WebSocket listener for clients.
 */
const startMosquitto = async (cpus: string | undefined): Promise<StartedServer> => {
  const [mqttPort, wsPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'bench-mosquitto-'));
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(
    config,
    [
      `listener ${mqttPort} 127.0.0.1`,
      `listener ${wsPort} 127.0.0.1`,
      'protocol websockets',
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  );
  const broker = spawnPinned(cpus, 'mosquitto', ['-c', config], false);
  const exited = new Promise<never>((_, reject) => {
    broker.once('exit', (code) => reject(new Error(`mosquitto exited with ${code} (is it installed?)`)));
    broker.once('error', (err) => reject(new Error(`cannot start mosquitto: ${err.message}`)));
  });
  exited.catch(() => {});
  await Promise.race([waitUntilAccepting(wsPort), exited]);
  const feed = spawnNodeScript(cpus, './servers/mqtt-publisher.ts', [String(mqttPort), String(wsPort)]);
  return {
    feed,
    pid: broker.pid!,
    protocol: 'mqtt',
    url: (port) => `ws://127.0.0.1:${port}/`,
    stop: async () => {
      await stopChild(feed);
      await stopChild(broker);
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** Starts one server under test; its feed process reports `ready` with the client port. */
export const startServerUnderTest = async (
  name: ServerName,
  cpus: string | undefined,
  nodeFlags: string[] = [],
): Promise<StartedServer> => {
  if (name === 'mosquitto') return startMosquitto(cpus);
  const [file, args, protocol, path]: [string, string[], ClientProtocol, string] =
    name === 'tickstream' || name === BARS_OFF_SERVER || name === CONTROL_SERVER
      ? ['./servers/tickstream.ts', name === BARS_OFF_SERVER ? ['no-bars'] : [], 'json', '/ws']
      : name === BUS_SERVER
        ? ['./servers/tickstream-bus.ts', [], 'json', '/ws']
        : name === 'ws'
          ? ['./servers/ws-broadcast.ts', [], 'json', '/']
          : [
              './servers/socketio.ts',
              [name === 'sio-batch' ? 'batch' : 'emit'],
              'socketio',
              '/socket.io/?EIO=4&transport=websocket',
            ];
  const feed = spawnNodeScript(cpus, file, args, nodeFlags);
  return {
    feed,
    pid: feed.pid!,
    protocol,
    url: (port) => `ws://127.0.0.1:${port}${path}`,
    stop: () => stopChild(feed),
  };
};
