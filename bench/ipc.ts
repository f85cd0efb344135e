import type { GcPauseTable } from './gc-pauses.ts';
import type { StampTable } from './stamps.ts';
import type { Workload } from './workload.ts';

/** Server (or feed) process → orchestrator. */
export type ServerReport =
  | {
      type: 'ready';
      port: number;
      /** Every port clients spread over (scale-out edges); absent: `port` alone. */
      ports?: number[];
      /** Every process whose CPU and memory count (edges, Redis); absent: the server's alone. */
      pids?: number[];
    }
  | {
      type: 'fed';
      startedAt: number;
      endedAt: number;
    }
  /** `gc`: the pauses of the process that hosts the feed, which is the server unless it is several. */
  | ({ type: 'stamps'; gc: GcPauseTable } & StampTable);

/** Orchestrator → server (or feed) process: `gc` before memory is measured at rest. */
export type ServerCommand =
  { type: 'start'; rate: number; durationMs: number } | { type: 'gc' } | { type: 'stamps' };

/** The protocol a load generator speaks to the server under test. */
export type ClientProtocol = 'json' | 'socketio' | 'mqtt';

/** Orchestrator → load generator. */
export type LoadCommand =
  | {
      type: 'connect';
      protocol: ClientProtocol;
      url: string;
      /** When set, client i connects to `urls[i % urls.length]` instead (scale-out edges). */
      urls?: string[];
      /** Which of the run's clients this generator holds: [first, first + count). */
      first: number;
      count: number;
      workload: Workload;
      /** The built C data plane (`native-load.ts`) that reads the clients; absent: JavaScript. */
      native?: string;
    }
  | { type: 'start'; measureFrom: number }
  | { type: 'count' }
  /** `stamps`: when each burst left the feed, for sub-millisecond latency. */
  | { type: 'report'; stamps: StampTable };

/** What a load generator measured between `start` and `report`. */
export interface LoadResult {
  deliveries: number;
  frames: number;
  /** WebSocket bytes received: payloads plus frame headers. */
  wireBytes: number;
  lastReceiptAt: number;
  /** Clients closed by the server during the run, by close code (4008: slow consumer). */
  closedBy: Record<string, number>;
  latencyCounts: number[];
  /** Latency samples whose burst was in the feed's table (sub-millisecond), of all samples. */
  latencyMatched: number;
  latencySamples: number;
  cpuMs: number;
  /** The kernel's part of `cpuMs` (socket reads, wakeups). */
  systemMs: number;
  /** CPU spent polling sockets that had nothing (the C data plane): waiting, not in `cpuMs`. */
  pollingMs?: number;
  wallMs: number;
}

/** Load generator → orchestrator. */
export type LoadReport =
  | {
      type: 'subscribed';
      /** Healthy (not stalled) subscribers per symbol index. */
      subscribers: number[];
    }
  /** `start` took effect: counts start from zero now, so the feed may begin. */
  | { type: 'started' }
  | { type: 'count'; deliveries: number }
  | ({ type: 'result' } & LoadResult)
  | { type: 'failed'; message: string };
