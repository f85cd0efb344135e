/**
 * The C data plane of the load generator (`bench/native/loadgen.c`), for every client protocol:
 * built here with the system's C compiler when the bench starts, then driven by a load
 * generator process over the child's stdin and stdout (one command or answer a line).
 */
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ClientProtocol } from './ipc.ts';

const SOURCE = fileURLToPath(new URL('./native/loadgen.c', import.meta.url));
const BUILD_DIR = fileURLToPath(new URL('./native/build/', import.meta.url));
const BINARY = `${BUILD_DIR}loadgen`;

/** The built data plane, or why there is none (the JavaScript one is used then). */
export type NativeBuild = { binary: string; note: string } | { binary?: undefined; note: string };

/** Builds the data plane unless a build newer than its source exists. */
export const buildNativeLoadgen = (): NativeBuild => {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs)
    return { binary: BINARY, note: 'native (bench/native/loadgen.c)' };
  mkdirSync(BUILD_DIR, { recursive: true });
  const partial = `${BINARY}.${process.pid}`;
  try {
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', partial, SOURCE], { stdio: 'pipe' });
  } catch (err) {
    const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    return { note: `JavaScript only: could not build bench/native/loadgen.c (${why.split('\n')[0]})` };
  }
  renameSync(partial, BINARY);
  return { binary: BINARY, note: 'native (bench/native/loadgen.c, just built)' };
};

/** One client of the data plane: where it connects, what it sends (see `session`), how it behaves. */
export interface NativeClient {
  index: number;
  sampled: boolean;
  stalled: boolean;
  url: string;
  protocol: ClientProtocol;
  open: string | Buffer | undefined;
  answer: string | Buffer | undefined;
}

/** What the data plane measured since `start`; times in ms since the epoch, as `hiResNow`. */
export interface NativeResult {
  deliveries: number;
  frames: number;
  wireBytes: number;
  lastReceiptAt: number;
  cpuMs: number;
  systemMs: number;
  wallMs: number;
  /** CPU spent polling quiet sockets, left out of `cpuMs`. */
  pollingMs: number;
  closedBy: Record<string, number>;
  /** (key, received at, count) triples, as `StampSamples.record` takes them. */
  samples: number[];
}

const hex = (message: string | Buffer | undefined): string =>
  message === undefined ? '-' : Buffer.from(message).toString('hex');

const clientLine = ({ index, sampled, stalled, url, protocol, open, answer }: NativeClient): string => {
  const target = new URL(url);
  if (target.protocol !== 'ws:') throw new Error(`only ws:// URLs are supported: ${url}`);
  const where = `${target.hostname} ${target.port || 80} ${target.pathname}${target.search}`;
  return `client ${index} ${sampled ? 1 : 0} ${stalled ? 1 : 0} ${where} ${protocol} ${hex(open)} ${hex(answer)}\n`;
};

/** A running data plane. */
export class NativeLoad {
  private readonly lines: AsyncIterator<string>;

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static start(binary: string): NativeLoad {
    return new NativeLoad(spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] }));
  }

  private async line(): Promise<string> {
    const { value, done } = await this.lines.next();
    if (done) throw new Error('the native load generator ended');
    if (value.startsWith('failed ')) throw new Error(value.slice('failed '.length));
    return value;
  }

  private send(text: string): void {
    this.child.stdin.write(text);
  }

  /** Opens and subscribes every client; resolves once each has its `subscribed`. */
  async connect(clients: NativeClient[]): Promise<void> {
    this.send(clients.map(clientLine).join(''));
    this.send('connect\n');
    const answer = await this.line();
    if (answer !== 'subscribed') throw new Error(`unexpected answer: ${answer}`);
  }

  /** Zeroes the counts; resolves once the data plane has. */
  async start(): Promise<void> {
    this.send('start\n');
    await this.line();
  }

  async count(): Promise<number> {
    this.send('count\n');
    return Number((await this.line()).split(' ')[1]);
  }

  async report(): Promise<NativeResult> {
    this.send('report\n');
    const [, ...figures] = (await this.line()).split(' ').map(Number);
    const [deliveries, frames, wireBytes, lastReceiptAt, cpuMs, systemMs, wallMs, pollingMs] =
      figures as number[];
    const closedBy: Record<string, number> = {};
    let line = await this.line();
    for (; line.startsWith('closed '); line = await this.line()) {
      const [, code, count] = line.split(' ');
      closedBy[code!] = Number(count);
    }
    const sampleCount = Number(line.split(' ')[1]);
    const samples: number[] = [];
    for (let i = 0; i < sampleCount; i++) samples.push(...(await this.line()).split(' ').map(Number));
    await this.line(); // "end"
    return {
      deliveries,
      frames,
      wireBytes,
      lastReceiptAt,
      cpuMs,
      systemMs,
      wallMs,
      pollingMs,
      closedBy,
      samples,
    } as NativeResult;
  }

  stop(): void {
    this.child.stdin.end();
  }
}
