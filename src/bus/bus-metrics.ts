import { Counter, Gauge, type Registry } from 'prom-client';

/** The scale-out figures on `/metrics`. */
export interface BusMetrics {
  /** Events written to the stream (ingest) or read from it (edge); rates are the bus throughput. */
  readonly events: Counter<'direction'>;
  /** Times an edge reloaded the snapshot because the stream no longer reached back to it. */
  readonly resyncs: Counter<'reason'>;
  /** Stream entries that could not be read (reported, then resynced past). */
  readonly badEntries: Counter;
  /** Publishes Redis refused or did not answer (ingest); each is retried. */
  readonly publishErrors: Counter;
}

/**
 * Registers the bus metrics on `registry`; `up`, `lag` and `ingest` are read at scrape time so
 * the figures are never staler than the scrape.
 */
export const createBusMetrics = (
  registry: Registry,
  live: { up: () => boolean; lag: () => number | undefined; ingest: () => boolean | undefined },
): BusMetrics => {
  const registers = [registry];
  new Gauge({
    name: 'tickstream_bus_up',
    help: '1 while the Redis bus connection is up.',
    registers,
    collect() {
      this.set(live.up() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tickstream_bus_lag_entries',
    help: 'Stream entries this edge is behind the stream head (absent while unknown).',
    registers,
    collect() {
      const lag = live.lag();
      if (lag === undefined) this.remove();
      else this.set(lag);
    },
  });
  new Gauge({
    name: 'tickstream_bus_ingest_up',
    help: 'At an edge: 1 while an ingest holds its lease, 0 when none does (absent before the first read).',
    registers,
    collect() {
      const ingest = live.ingest();
      if (ingest === undefined) this.remove();
      else this.set(ingest ? 1 : 0);
    },
  });
  return {
    events: new Counter({
      name: 'tickstream_bus_events_total',
      help: 'Events through the Redis bus, by direction (published, received).',
      labelNames: ['direction'],
      registers,
    }),
    resyncs: new Counter({
      name: 'tickstream_bus_resyncs_total',
      help: 'Snapshot reloads by an edge, by reason (trimmed, new_epoch, bad_entry).',
      labelNames: ['reason'],
      registers,
    }),
    badEntries: new Counter({
      name: 'tickstream_bus_bad_entries_total',
      help: 'Stream entries that could not be read.',
      registers,
    }),
    publishErrors: new Counter({
      name: 'tickstream_bus_publish_errors_total',
      help: 'Publishes to Redis that failed (refused, link down); the events stay queued and are retried.',
      registers,
    }),
  };
};
