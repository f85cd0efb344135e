import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { onTestFailed } from 'vitest';
import WebSocket from 'ws';
import { Subject } from 'rxjs';
import type { Bar, ServerMessage } from '../src/protocol/messages.ts';
import { serve, type ServeConfig } from '../src/serve.ts';
import { splitFrames } from '../src/source/feed-file.ts';
import type { Frame } from '../src/source/frame.ts';
import { assertServerMessage } from './protocol-schema.ts';

/** A fixture file's text. */
export const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');
export const fixturePath = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
export const repoPath = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** A logger whose records the test reads back. */
export const recordingLog = () => {
  const records: { level: number; msg: string; [k: string]: unknown }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return { log, records };
};

/** A logger that keeps tests quiet unless LOG_LEVEL asks otherwise. */
export const quietLog = () => pino({ level: process.env.LOG_LEVEL ?? 'silent' });

/** How many of its last log lines a failing test prints. */
const FAILURE_LOG_LINES = 2000;

/**
 * A debug logger that stays quiet unless the running test fails, and then prints its last lines,
 * so a failure seen once in CI explains itself.
 */
export const failureLog = () => {
  if (process.env.LOG_LEVEL) return quietLog();
  const lines: string[] = [];
  onTestFailed(() => void process.stderr.write(lines.join('')));
  return pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        if (lines.push(line) > FAILURE_LOG_LINES) lines.shift();
      },
    },
  );
};

/**
 * Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`:
 * a deadline for a hang, not a bound on speed. The default leaves room for a loaded machine
 * (the whole suite on two cores), where a step that takes milliseconds alone has taken seconds.
 */
/** Bars as comparable text, each with the seq that last changed it, in one order whatever the source's. */
export const barKeys = (bars: readonly Bar[] = [], seqs: readonly number[] = []): string[] =>
  bars.map((b, i) => `${b.symbol} ${b.interval} ${b.start} ${b.close} ${b.updates} ${seqs[i]}`).sort();

export const waitFor = async <T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/**
 * A real `ws` client that records every message it receives, frames unbatched. Every message
 * is checked against the generated JSON Schema (`schema/`): one that does not match throws
 * from the socket's handler, which fails the test run.
 */
export class TestClient {
  readonly messages: ServerMessage[] = [];
  readonly frames: string[] = [];
  closeCode: number | undefined;
  readonly ws: WebSocket;

  private constructor(url: string, options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => {
      const text = data.toString();
      this.frames.push(text);
      const parsed = JSON.parse(text) as ServerMessage | ServerMessage[];
      const messages = Array.isArray(parsed) ? parsed : [parsed];
      messages.forEach(assertServerMessage);
      this.messages.push(...messages);
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
    });
    this.ws.on('error', () => {});
  }

  static async connect(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const client = new TestClient(url, options);
    await new Promise<void>((resolve, reject) => {
      client.ws.once('open', () => resolve());
      client.ws.once('error', reject);
    });
    return client;
  }

  send(request: unknown): void {
    this.ws.send(typeof request === 'string' ? request : JSON.stringify(request));
  }

  /** Waits for the first message (after `from`) that matches, and returns it. */
  async next<T extends ServerMessage['type']>(
    type: T,
    match: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
    from = 0,
  ) {
    return waitFor(
      () =>
        this.messages
          .slice(from)
          .find(
            (m): m is Extract<ServerMessage, { type: T }> =>
              m.type === type && match(m as Extract<ServerMessage, { type: T }>),
          ),
      `a "${type}" message`,
    );
  }

  ofType<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.messages.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** Connects and returns how the server answered: the close code and reason, or 'open' after hello. */
export const attempt = (url: string, options?: WebSocket.ClientOptions) =>
  new Promise<{ code: number | 'open'; reason: string }>((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.includes('"hello"')) {
        ws.close();
        resolve({ code: 'open', reason: '' });
      }
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', reject);
  });

/** A ServeConfig for tests: port 0 on 127.0.0.1, a long heartbeat; override what a test needs. */
export const testConfig = (
  overrides: {
    source?: Partial<ServeConfig['source']>;
    hub?: Partial<ServeConfig['hub']>;
    transport?: Partial<ServeConfig['transport']>;
  } = {},
): ServeConfig => ({
  source: {
    feed: fixturePath('two-frames.txt'),
    speed: 0,
    intervalMs: 1000,
    loop: false,
    ...overrides.source,
  },
  hub: { history: { size: 1000, ageMs: 60_000 }, headlineCount: 50, ...overrides.hub },
  transport: { port: 0, host: '127.0.0.1', heartbeatMs: 60_000, maxPayload: 65_536, ...overrides.transport },
});

/**
 * Starts a real server whose frames the test pushes by hand (`frames$.next(frame)`), so a
 * test decides exactly when the feed moves. Close it with `running.close()`.
 */
export const startWithFrames = async (overrides: Parameters<typeof testConfig>[0] = {}) => {
  const frames$ = new Subject<Frame>();
  const running = await serve(testConfig(overrides), quietLog(), { kind: 'test', frames$ });
  return { running, frames$ };
};

/** The frames of a fixture feed. */
export const fixtureFrames = (name: string): Frame[] => splitFrames(fixture(name), name);
