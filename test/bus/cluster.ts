import { Subject } from 'rxjs';
import { DEFAULT_LEASE_MS, DEFAULT_SNAPSHOT_MS, type BusRole } from '../../src/bus/options.ts';
import type { EventMessage, Quote, ServerMessage } from '../../src/protocol/messages.ts';
import { serve, type Running } from '../../src/serve.ts';
import type { Frame } from '../../src/source/frame.ts';
import { failureLog, testConfig, TestClient } from '../helpers.ts';

/** One process of a test cluster, fed by hand when it is an ingest. */
export interface Node {
  running: Running;
  frames$: Subject<Frame>;
}

/** Starts a real server in `role` against `url`, with its own key prefix per cluster. */
export const startNode = async (
  role: BusRole,
  url: string,
  prefix: string,
  {
    maxLen = 10_000,
    historySize = 1000,
    leaseMs = DEFAULT_LEASE_MS,
    snapshotMs = DEFAULT_SNAPSHOT_MS,
    dataDir,
    barDays,
  }: {
    maxLen?: number;
    historySize?: number;
    leaseMs?: number;
    snapshotMs?: number;
    dataDir?: string;
    barDays?: number;
  } = {},
): Promise<Node> => {
  const frames$ = new Subject<Frame>();
  const config = {
    ...testConfig({
      hub: {
        history: { size: historySize, ageMs: 600_000 },
        ...(dataDir && { dataDir }),
        ...(barDays && { barDays }),
      },
    }),
    bus: { url, role, maxLen, prefix, leaseMs, snapshotMs },
  };
  const running = await serve(config, failureLog(), { kind: 'test', frames$ });
  return { running, frames$ };
};

const SYMBOLS = ['AIRLINK', 'HBL', 'OGDC'];

/** Frame `n`: three stocks, each at a price no other frame has, so every frame is 3 events. */
export const tick = (n: number): Frame => {
  const lines = SYMBOLS.map((symbol, i) => {
    const change = 1 + i + n / 100;
    const price = 50 * (i + 1) + n / 100;
    const pct = (change / (price - change)) * 100;
    return `${symbol} ${price.toFixed(2)} Increased By ▲ ${change.toFixed(2)} (${pct.toFixed(2)}%)`;
  });
  return {
    text: lines.join('\n'),
    origin: `tick-${n}`,
    capturedAt: new Date(Date.UTC(2023, 10, 9, 4, 31, n)),
  };
};

/** The hub events a client received (quotes and headlines), in arrival order. */
export const events = (client: TestClient): EventMessage[] =>
  client.messages.filter(
    (m: ServerMessage): m is EventMessage => m.type === 'quote' || m.type === 'headline',
  );

/** The seq of the last hub event a client received, or the seq its snapshot was at. */
export const lastSeq = (client: TestClient): number => {
  const seqs = client.messages.flatMap((m) => ('seq' in m && m.type !== 'heartbeat' ? [m.seq] : []));
  return seqs.at(-1) ?? -1;
};

/** Connects to a node and subscribes to every quote; resolves once the snapshot is in. */
export const subscribed = async (node: Node, since?: { epoch: string; seq: number }): Promise<TestClient> => {
  const client = await TestClient.connect(node.running.server.url);
  client.send({ op: 'subscribe', id: 1, channel: 'quotes', ...(since && { since }) });
  await client.next('subscribed');
  if (!since) await client.next('snapshot');
  return client;
};

/** A client's quotes: its snapshot with every delta after it applied, as a client library keeps them. */
export const clientQuotes = (client: TestClient): Map<string, Partial<Quote>> => {
  const quotes = new Map<string, Partial<Quote>>();
  for (const m of client.messages) {
    if (m.type === 'snapshot' && m.channel === 'quotes') {
      quotes.clear();
      for (const q of m.quotes) quotes.set(q.symbol, q);
    } else if (m.type === 'quote') {
      const { type: _t, seq: _s, ...fields } = m;
      quotes.set(fields.symbol, { ...quotes.get(fields.symbol), ...fields });
    }
  }
  return quotes;
};

/** A hub's snapshot keyed by symbol, to compare with {@link clientQuotes}. */
export const hubQuotes = (node: Node): Map<string, Partial<Quote>> =>
  new Map(node.running.hub.snapshot().map((q) => [q.symbol, q]));

/** The seqs a client received, and whether they run without a gap or a repeat. */
export const seqRun = (client: TestClient): { first?: number; last?: number; gapless: boolean } => {
  const seqs = events(client).map((m) => m.seq);
  return {
    first: seqs[0],
    last: seqs.at(-1),
    gapless: seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1),
  };
};

/** Feeds `count` frames from `from`, one every `everyMs`, as a live source would. */
export const feed = async (node: Node, from: number, count: number, everyMs = 5): Promise<void> => {
  for (let n = from; n < from + count; n++) {
    node.frames$.next(tick(n));
    await new Promise((r) => setTimeout(r, everyMs));
  }
};

/** A node's `/healthz`, parsed. */
export const healthOf = async (
  node: Node,
): Promise<Record<string, unknown> & { bus?: Record<string, unknown> }> =>
  (await (await fetch(`http://127.0.0.1:${node.running.server.port}/healthz`)).json()) as Record<
    string,
    unknown
  >;
