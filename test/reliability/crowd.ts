import { Agent, request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import type { Position, Quote, ServerMessage } from '../../src/protocol/messages.ts';
import { waitFor } from '../helpers.ts';

/**
 * A client that keeps its own copy of the quotes (snapshot, then deltas applied on top), as
 * a widget does, so a test can compare what a client ends up with to the server's snapshot.
 */
export class Mirror {
  readonly quotes = new Map<string, Quote>();
  /** Every `subscribed` reply's `recovered` flag, in order. */
  readonly recovered: boolean[] = [];
  readonly errors: ServerMessage[] = [];
  epoch = '';
  /** The latest seq this client has seen (snapshot or event): where it resumes from. */
  seq = 0;
  closeCode: number | undefined;
  ws!: WebSocket;

  constructor(url: string) {
    this.connect(url);
  }

  /** Opens a new connection; the quotes and position this client holds are kept. */
  connect(url: string): void {
    this.closeCode = undefined;
    this.ws = new WebSocket(url);
    this.ws.on('message', (data) => {
      const parsed = JSON.parse(data.toString()) as ServerMessage | ServerMessage[];
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) this.apply(m);
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
    });
    this.ws.on('error', () => {});
  }

  private apply(m: ServerMessage): void {
    switch (m.type) {
      case 'hello':
        // Not its seq: hello tells where the server is, not what this client has seen.
        this.epoch = m.epoch;
        return;
      case 'subscribed':
        this.recovered.push(m.recovered);
        return;
      case 'snapshot':
        if (m.channel === 'quotes') {
          this.quotes.clear();
          for (const q of m.quotes) this.quotes.set(q.symbol, q);
        }
        this.seq = Math.max(this.seq, m.seq);
        return;
      case 'quote': {
        const { type: _type, seq, ...delta } = m;
        this.quotes.set(m.symbol, { ...this.quotes.get(m.symbol), ...delta } as Quote);
        this.seq = Math.max(this.seq, seq);
        return;
      }
      case 'error':
        this.errors.push(m);
        return;
    }
  }

  get position(): Position {
    return { epoch: this.epoch, seq: this.seq };
  }

  /** Resolves when the socket is open (rejects if it fails first). */
  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  /** Subscribes to every quote, resuming from `since` when given. */
  subscribe(since?: Position): void {
    this.ws.send(JSON.stringify({ op: 'subscribe', channel: 'quotes', ...(since && { since }) }));
  }

  /** Connection attempts that failed and were retried (a full listen backlog resets some). */
  retries = 0;

  /**
   * Reconnects and resumes from what this client holds (taken before the new hello arrives),
   * retrying a refused or reset connect after a short random delay, as a real client does.
   */
  async resume(url: string): Promise<void> {
    const since = this.position;
    for (;;) {
      this.connect(url);
      try {
        await this.opened();
        break;
      } catch (err) {
        if (++this.retries > 20) throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
      }
    }
    this.subscribe(since);
  }

  /** Drops the TCP connection without a close frame, as a crashed client or a lost network does. */
  vanish(): void {
    this.ws.terminate();
  }

  /** The quotes as a sorted array, comparable to `hub.snapshot()` and `/api/snapshot`. */
  snapshot(): Quote[] {
    return [...this.quotes.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  }
}

/**
 * Opens `count` mirrors in batches (so 2,000 connects do not all sit in the listen backlog at
 * once), each subscribed to every quote; resolves when every one has its first snapshot.
 */
export const openCrowd = async (url: string, count: number, batch = 250): Promise<Mirror[]> => {
  const crowd: Mirror[] = [];
  for (let i = 0; i < count; i += batch) {
    const group = Array.from({ length: Math.min(batch, count - i) }, () => new Mirror(url));
    await Promise.all(group.map((m) => m.opened()));
    for (const m of group) m.subscribe();
    crowd.push(...group);
  }
  await waitFor(() => crowd.every((m) => m.recovered.length > 0), `${count} first snapshots`, 20_000);
  return crowd;
};

let gc: (() => void) | undefined;
/** Heap in use after a full collection, so two readings compare live objects, not garbage. */
export const liveHeap = (): number => {
  if (!gc) {
    // Test workers are not started with --expose-gc; this turns it on for this process.
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/** One HTTP GET on 127.0.0.1: status, body and how long it took. */
export const httpGet = (
  port: number,
  path: string,
  headers: Record<string, string> = {},
  agent: Agent | false = false,
): Promise<{ status: number; body: string; ms: number }> =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end();
  });

/**
 * Polls /healthz back to back until stopped; returns every answer's latency in ms. It keeps
 * its connection alive, as a load balancer's probe does, so the figure is the server's
 * responsiveness, not the wait for a place in a listen queue that a storm has filled.
 */
export const watchHealth = (port: number) => {
  const latencies: number[] = [];
  const failures: string[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const r = await httpGet(port, '/healthz', {}, agent);
        if (r.status === 200) latencies.push(r.ms);
        else failures.push(`status ${r.status}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
      // A probe every 50 ms, as a health checker does; back to back it would be a load test.
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      agent.destroy();
      return { latencies, failures };
    },
  };
};

/** The p-th percentile (0–100) of some figures. */
export const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
