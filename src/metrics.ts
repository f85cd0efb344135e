import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { VERSION } from './package.ts';

/** What the transport reports: its clients, what they were sent, and what was refused or held back. */
export interface TransportMetrics {
  /** Open WebSocket and SSE connections. */
  readonly connections: Gauge;
  /** Subscriptions held, by channel. */
  readonly subscriptions: Gauge<'channel'>;
  /** Messages handed to clients (a batch of n counts n). */
  readonly messagesOut: Counter;
  /** Bytes of frames written to clients. */
  readonly bytesOut: Counter;
  /** Quote deltas merged into a later one by `maxRate` or slow-consumer conflation. */
  readonly conflatedDeltas: Counter<'reason'>;
  /** Clients closed with 4008 (slow consumer). */
  readonly slowConsumerCloses: Counter;
  /** Clients the global --max-waiting-bytes ceiling conflated or closed, by action. */
  readonly waitingSheds: Counter<'action'>;
  /** Clients refused or closed for policy: origin, auth, limits, abuse. */
  readonly refused: Counter<'reason'>;
  /** Client requests carried out, by op. */
  readonly requests: Counter<'op'>;
  /** Subscriptions that asked to resume, by channel and whether they recovered. */
  readonly resumes: Counter<'channel' | 'recovered'>;
  /** Client requests answered with an error, by code. */
  readonly requestErrors: Counter<'code'>;
  /** Times a connection was not read for a while: its address sent more than its byte budget. */
  readonly readHolds: Counter;
  /** From the hub stamping an event to the end of the flush that writes it to clients' sockets. */
  readonly deliveryLatency: Histogram;
  /** How long one flush (writing what is queued to every client that has something) took. */
  readonly flushDuration: Histogram;
}

/** What the source, the parser and the journal report. */
export interface FeedMetrics {
  /** Feed frames read from the source. */
  readonly framesIn: Counter;
  /** Events parsed from the feed, by type (quote, headline, rejected); its rate is the parse rate. */
  readonly parsedEvents: Counter<'type'>;
  /** Feed lines the parser rejected. */
  readonly rejectedLines: Counter;
  /** Quotes published although their parts disagree (direction, signs, percent). */
  readonly suspectQuotes: Counter;
  /** Failed journal writes, syncs and compactions (`--data-dir`). */
  readonly journalErrors: Counter;
}

/**
 * The counters every stage reports to, in one prom-client registry per server (not the
 * global one, so several servers in one process, as in tests, keep their own figures).
 */
export interface Metrics extends TransportMetrics, FeedMetrics {
  readonly registry: Registry;
  /** Stops the event-loop monitor; safe to call twice. */
  close(): void;
}

// Process and Node figures are one set per process however many servers it runs (tests run
// many): collected once, and listed in every server's registry (a metric may be in several).
let processMetrics: Metric[] | undefined;
const processWide = (): Metric[] => {
  if (!processMetrics) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    processMetrics = registry.getMetricsAsArray().map(({ name }) => registry.getSingleMetric(name)!);
  }
  return processMetrics;
};

/** The timer resolution of the event-loop monitor; it reports each tick's full interval. */
const LOOP_RESOLUTION_MS = 20;

/**
 * Moves the delays `monitor` saw since the last call into `histogram`, then starts it afresh.
 * The monitor keeps them as an HDR histogram read out by percentiles: each step between two
 * percentiles is observed at the upper one's delay (a sample per loop tick, so a long gap
 * between scrapes costs one pass over its ticks, not memory).
 */
const drainLoopDelay = (monitor: IntervalHistogram, histogram: Histogram) => {
  let observed = 0;
  for (const [percentile, nanos] of monitor.percentiles) {
    const delay = Math.max(0, nanos / 1e6 - LOOP_RESOLUTION_MS) / 1000;
    for (const upTo = Math.round((monitor.count * percentile) / 100); observed < upTo; observed++)
      histogram.observe(delay);
  }
  monitor.reset();
};

const transportMetrics = (registers: Registry[]): TransportMetrics => ({
  connections: new Gauge({ name: 'tickstream_connections', help: 'Open client connections.', registers }),
  subscriptions: new Gauge({
    name: 'tickstream_subscriptions',
    help: 'Subscriptions held, by channel.',
    labelNames: ['channel'],
    registers,
  }),
  messagesOut: new Counter({
    name: 'tickstream_messages_out_total',
    help: 'Messages sent to clients.',
    registers,
  }),
  bytesOut: new Counter({
    name: 'tickstream_bytes_out_total',
    help: 'Bytes of frames sent to clients.',
    registers,
  }),
  conflatedDeltas: new Counter({
    name: 'tickstream_conflated_deltas_total',
    help: 'Quote deltas merged into a later one (reason: max_rate or slow_consumer).',
    labelNames: ['reason'],
    registers,
  }),
  slowConsumerCloses: new Counter({
    name: 'tickstream_slow_consumer_closes_total',
    help: 'Clients closed with 4008 for not reading fast enough.',
    registers,
  }),
  waitingSheds: new Counter({
    name: 'tickstream_waiting_sheds_total',
    help: 'Clients conflated or closed (action) to keep bytes waiting under --max-waiting-bytes.',
    labelNames: ['action'],
    registers,
  }),
  refused: new Counter({
    name: 'tickstream_refused_total',
    help: 'Clients refused or closed by policy, by reason.',
    labelNames: ['reason'],
    registers,
  }),
  requests: new Counter({
    name: 'tickstream_requests_total',
    help: 'Client requests carried out, by op (those answered with an error count in request_errors_total).',
    labelNames: ['op'],
    registers,
  }),
  resumes: new Counter({
    name: 'tickstream_resumes_total',
    help: 'Subscriptions that asked to resume (since, Last-Event-ID), by channel and whether every missed event was sent (recovered="false": answered with a snapshot instead).',
    labelNames: ['channel', 'recovered'],
    registers,
  }),
  requestErrors: new Counter({
    name: 'tickstream_request_errors_total',
    help: 'Client requests answered with an error, by code.',
    labelNames: ['code'],
    registers,
  }),
  readHolds: new Counter({
    name: 'tickstream_read_holds_total',
    help: 'Times a connection was not read for a while: its address sent more than --max-request-bytes-per-ip.',
    registers,
  }),
  deliveryLatency: new Histogram({
    name: 'tickstream_delivery_latency_seconds',
    help: 'How long the oldest item of each flush waited, from queued for its first client to the end of the flush writing it (one observation per flush).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  }),
  flushDuration: new Histogram({
    name: 'tickstream_flush_duration_seconds',
    help: 'How long one flush of queued messages to every waiting client took.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers,
  }),
});

const feedMetrics = (registers: Registry[]): FeedMetrics => ({
  framesIn: new Counter({
    name: 'tickstream_frames_in_total',
    help: 'Feed frames read from the source.',
    registers,
  }),
  parsedEvents: new Counter({
    name: 'tickstream_parsed_events_total',
    help: 'Events parsed from the feed, by type.',
    labelNames: ['type'],
    registers,
  }),
  rejectedLines: new Counter({
    name: 'tickstream_rejected_lines_total',
    help: 'Feed lines the parser rejected.',
    registers,
  }),
  suspectQuotes: new Counter({
    name: 'tickstream_suspect_quotes_total',
    help: 'Quotes published although their parts disagree (direction, signs, percent).',
    registers,
  }),
  journalErrors: new Counter({
    name: 'tickstream_journal_errors_total',
    help: 'Failed writes, syncs and compactions of the --data-dir journal (a full disk, EIO).',
    registers,
  }),
});

/**
 * Shows `reach()` (see `Hub.resumeReach`) as a gauge read at each scrape: beside
 * `tickstream_resumes_total`, how far back a reconnecting client can be and still recover.
 */
export const gaugeResumeReach = (metrics: Metrics, reach: () => number): void => {
  new Gauge({
    name: 'tickstream_resume_reach_events',
    help: 'How many of the latest events a client may have missed and still resume (history and the resume budget allow); one that missed more gets a snapshot.',
    registers: [metrics.registry],
    collect() {
      this.set(reach());
    },
  });
};

/** Creates a registry with tickstream's metrics, event-loop delay and the process's figures. */
export const createMetrics = (): Metrics => {
  const registry = new Registry();
  const registers = [registry];
  for (const metric of processWide()) registry.registerMetric(metric);
  new Gauge({
    name: 'tickstream_build_info',
    help: 'Always 1; the labels say which tickstream and which Node.js run.',
    labelNames: ['version', 'node'],
    registers,
  }).set({ version: VERSION, node: process.version }, 1);
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  new Histogram({
    name: 'tickstream_event_loop_delay_seconds',
    help: 'How late the event loop ran its timers: each tick of a 20 ms monitor is one observation.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
    collect() {
      drainLoopDelay(loop, this);
    },
  });
  return {
    registry,
    ...transportMetrics(registers),
    ...feedMetrics(registers),
    close: () => loop.disable(),
  };
};
