import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The counters every stage reports to, in one prom-client registry per server (not the
 * global one, so several servers in one process, as in tests, keep their own figures).
 */
export interface Metrics {
  readonly registry: Registry;
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
  /** Client requests answered with an error, by code. */
  readonly requestErrors: Counter<'code'>;
  /** Feed frames read from the source. */
  readonly framesIn: Counter;
  /** Events parsed from the feed, by type (quote, headline, rejected); its rate is the parse rate. */
  readonly parsedEvents: Counter<'type'>;
  /** Feed lines the parser rejected. */
  readonly rejectedLines: Counter;
  readonly suspectQuotes: Counter;
  /** Failed journal writes, syncs and compactions (`--data-dir`). */
  readonly journalErrors: Counter;
  /** Stops the event-loop monitor; safe to call twice. */
  close(): void;
}

/** Creates a registry with tickstream's metrics, event-loop lag and process memory/CPU. */
export const createMetrics = (): Metrics => {
  const registry = new Registry();
  const registers = [registry];
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  new Gauge({
    name: 'tickstream_event_loop_lag_seconds',
    help: 'Event-loop delay since the last scrape, by quantile.',
    labelNames: ['quantile'],
    registers,
    collect() {
      // An idle loop reports no samples; NaN would break dashboards, so report 0.
      const q = (p: number) => (loop.count > 0 ? loop.percentile(p) / 1e9 : 0);
      this.set({ quantile: '0.5' }, q(50));
      this.set({ quantile: '0.99' }, q(99));
      this.set({ quantile: '1' }, loop.count > 0 ? loop.max / 1e9 : 0);
      loop.reset();
    },
  });
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time spent, in seconds.',
    registers,
    collect() {
      const { user, system } = process.cpuUsage();
      this.set((user + system) / 1e6);
    },
  });
  return {
    registry,
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
    requestErrors: new Counter({
      name: 'tickstream_request_errors_total',
      help: 'Client requests answered with an error, by code.',
      labelNames: ['code'],
      registers,
    }),
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
    close: () => loop.disable(),
  };
};
