import type { Logger } from 'pino';
import { BehaviorSubject, Subscription, tap } from 'rxjs';
import { startBus } from './bus/bus.ts';
import type { BusConfig } from './bus/options.ts';
import { Hub, publishTo } from './hub/hub.ts';
import { marketStates } from './hub/market-status.ts';
import type { Journal } from './hub/journal.ts';
import { openHub } from './hub/persistence.ts';
import { packagePath } from './package.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { feedChanges, frameTime, skipPublished, type TimedEvent } from './pipeline.ts';
import { openSource, type OpenedSource, type SourceConfig } from './source/options.ts';
import { trackState } from './source/source-state.ts';
import { startServer, type RunningServer } from './transport/server.ts';
import type { HubConfig } from './hub/options.ts';
import type { TransportConfig } from './transport/options.ts';

export interface ServeConfig {
  source: SourceConfig;
  hub: HubConfig;
  transport: TransportConfig;
  /** Scale-out on Redis; absent: one process, in memory. */
  bus?: BusConfig;
}

export interface Running {
  hub: Hub;
  server: RunningServer;
  /** Stops the source, closes every client with 1001 and the listener; safe to call twice. */
  close(): Promise<void>;
}

const ASSETS = new Map([
  ['/', { file: packagePath('client/index.html'), type: 'text/html; charset=utf-8' }],
  ['/widget.js', { file: packagePath('dist/widget.js'), type: 'text/javascript; charset=utf-8' }],
  ['/demo.js', { file: packagePath('dist/demo.js'), type: 'text/javascript; charset=utf-8' }],
]);

/** Logs and counts what the parser flags, so a bad line is seen and never ends the stream. */
const reportEvent = (log: Logger, metrics: Metrics) => (event: TimedEvent) => {
  metrics.parsedEvents.inc({ type: event.type });
  if (event.type === 'rejected') metrics.rejectedLines.inc();
  if (event.type === 'quote' && event.suspect) metrics.suspectQuotes.inc();
  if (event.type === 'rejected')
    log.warn(
      { origin: event.origin, line: event.line, text: event.text, reason: event.reason },
      'rejected feed line',
    );
  else if (event.type === 'quote' && event.suspect)
    log.warn(
      { origin: event.origin, line: event.line, symbol: event.symbol, suspect: event.suspect },
      'suspect quote',
    );
};

/** The journal's part of `/healthz`: its state, and `status` degraded while it cannot write. */
const journalHealth = (journal: Journal) => {
  const health = journal.health();
  return { journal: health, ...(!health.ok && { status: 'degraded' }) };
};

/**
 * Wires source → parse → diff → hub → transport and starts serving. `source` defaults to the
 * configured one; tests and embedders may hand in their own frames.
 */
export const serve = async (config: ServeConfig, log: Logger, source?: OpenedSource): Promise<Running> => {
  // An edge reads no feed; other roles open it first, so a bad feed fails before anything starts.
  const opened = config.bus?.role === 'edge' ? undefined : (source ?? openSource(config.source, log));
  // With --data-dir the hub that stamps events continues the epoch, seq and state it persisted:
  // the served one, or with role all the ingest side's, so a Redis that lost its data is re-seeded
  // from it (the served hub then follows the stream like any edge's).
  const metrics = createMetrics();
  let persisted: ReturnType<typeof openHub>;
  try {
    persisted = openHub(config.hub, log, () => metrics.journalErrors.inc());
  } catch (err) {
    // A refused data dir leaves no event-loop monitor running.
    metrics.close();
    throw err;
  }
  const { hub: stamping, journal } = persisted;
  const splitHubs = config.bus?.role === 'all';
  const hub = splitHubs ? new Hub(config.hub) : stamping;
  // The bus restores the hub before the server starts, so the first hello carries the cluster's epoch.
  const bus =
    config.bus &&
    (await startBus(config.bus, {
      hub,
      ingestHub: stamping,
      hubConfig: config.hub,
      log,
      registry: metrics.registry,
    }).catch((err: unknown) => {
      // A refused bus (another ingest, say) leaves no data dir locked and no monitor running.
      journal?.close();
      metrics.close();
      throw err;
    }));
  // The hub the feed goes into: the served one, a private one (role all) or none (edge).
  const sourceHub = bus ? bus.sourceHub : hub;
  // Ready once the source has yielded a frame (an edge: once the bus says so).
  let sawFrame = false;
  const server = await startServer({
    ...config.transport,
    hub,
    log,
    assets: ASSETS,
    metrics,
    ready: bus ? bus.ready : () => sawFrame,
    ...(bus && { notReadyReason: 'the bus is not connected to Redis, or not yet in step with the stream' }),
    // Either part makes /healthz say "degraded" instead of "ok", so a checker reads one field.
    health: () => ({
      ...(bus && { bus: bus.health(), ...(bus.degraded() && { status: 'degraded' }) }),
      ...(journal && journalHealth(journal)),
    }),
  }).catch(async (err: unknown) => {
    // The bus's Redis links (and an edge's read loop) would otherwise outlive a failed start.
    await bus?.close();
    throw err;
  });

  const root = new Subscription();
  const onFrame = () => {
    sawFrame = true;
    metrics.framesIn.inc();
  };
  if (opened && sourceHub) feed(opened, sourceHub, root, log, config, metrics, onFrame);

  let closing: Promise<void> | undefined;
  return {
    hub,
    server,
    close: () =>
      (closing ??= (async () => {
        root.unsubscribe();
        await bus?.close();
        await server.close();
        journal?.close();
        hub.close();
        if (stamping !== hub) stamping.close();
        metrics.close();
      })()),
  };
};

/** Runs the source through the pipeline into `hub`, until `root` is unsubscribed. */
const feed = (
  source: OpenedSource,
  hub: Hub,
  root: Subscription,
  log: Logger,
  config: ServeConfig,
  metrics: Metrics,
  onFrame: () => void,
): void => {
  hub.setStatus({ source: source.kind, state: 'running' });
  // The market follows the feed's clock: each frame's time sets it and it runs on between frames.
  const feedTime = new BehaviorSubject(hub.latestTs === undefined ? Date.now() : Date.parse(hub.latestTs));
  const rate = config.source.speed > 0 ? config.source.speed : 1;
  root.add(
    feedTime
      .pipe(marketStates({ holidays: config.hub.holidays, rate }))
      .subscribe((market) => hub.setStatus({ market })),
  );

  // A replay restarted on its data dir goes on where it was at once, not after its timers.
  const resumed = hub.latestTs !== undefined && source.resume ? source.resume(hub.latestTs) : source;
  // Source state has one author, trackState; a hand-made source without one gets it here.
  const { frames$, state$ } = resumed.state$
    ? { frames$: resumed.frames$, state$: resumed.state$ }
    : trackState(resumed.frames$);

  root.add(state$.subscribe((state) => hub.setStatus({ ...hub.status, state })));
  root.add(
    frames$
      .pipe(
        skipPublished(hub.latestTs, (skipped) =>
          log.info({ skipped }, 'skipped frames published before the restart'),
        ),
        tap((frame) => {
          onFrame();
          feedTime.next(frameTime(frame));
        }),
        feedChanges({
          seed: hub.currentValues(),
          seenHeadlines: hub.seenHeadlineIds(),
          onEvent: reportEvent(log, metrics),
        }),
        publishTo(hub),
      )
      .subscribe({
        error: (err: unknown) => {
          log.error({ err }, 'source failed; serving the last state');
        },
        complete: () => {
          log.info('source ended; serving the final state');
        },
      }),
  );
};
