import type { Logger } from 'pino';
import { BehaviorSubject, identity, Subscription, tap } from 'rxjs';
import { startBus, type Bus } from './bus/bus.ts';
import { assignHubs, checkDataDir, stampsEvents, type HubRoles } from './bus/hub-roles.ts';
import type { BusConfig } from './bus/options.ts';
import { Hub, publishTo } from './hub/hub.ts';
import { marketStates } from './hub/market-status.ts';
import type { Journal } from './hub/journal.ts';
import { openHub } from './hub/persistence.ts';
import { packagePath } from './package.ts';
import { createMetrics, gaugeResumeReach, type Metrics } from './metrics.ts';
import { feedChanges, frameTime, skipPublished, type TimedEvent } from './pipeline.ts';
import { openSource, type OpenedSource, type SourceConfig } from './source/options.ts';
import { trackState } from './source/source-state.ts';
import { withBarClock } from './bars/bar-clock.ts';
import { feedClock } from './bars/feed-clock.ts';
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
  checkDataDir(config.bus?.role, config.hub.dataDir);
  // An edge reads no feed; other roles open it first, so a bad feed fails before anything starts.
  const opened = stampsEvents(config.bus?.role) ? (source ?? openSource(config.source, log)) : undefined;
  const metrics = createMetrics();
  const persisted = openPersisted(config.hub, log, metrics);
  const { journal } = persisted;
  const hubs = assignHubs(config.bus?.role, persisted.hub, () => new Hub(config.hub));
  const hub = hubs.served;
  gaugeResumeReach(metrics, () => hub.resumeReach());
  // The bus restores the hub before the server starts, so the first hello carries the cluster's epoch.
  const bus = config.bus && (await joinBus(config.bus, config.hub, hubs, log, metrics, journal));
  // Ready once the source has yielded a frame (an edge: once the bus says so).
  let sawFrame = false;
  const server = await listen(config.transport, { hub, log, metrics, bus, journal }, () => sawFrame);

  const root = new Subscription();
  const onFrame = () => {
    sawFrame = true;
    metrics.framesIn.inc();
  };
  if (opened && hubs.stamping) feed(opened, hubs.stamping, root, log, config, metrics, onFrame);

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
        if (hubs.stamping && hubs.stamping !== hub) hubs.stamping.close();
        metrics.close();
      })()),
  };
};

/** The hub, restored from `--data-dir` with its journal when one is set; a refused dir leaves no monitor running. */
const openPersisted = (config: HubConfig, log: Logger, metrics: Metrics) => {
  try {
    return openHub(config, log, () => metrics.journalErrors.inc());
  } catch (err) {
    metrics.close();
    throw err;
  }
};

/** Joins the Redis bus; a refused bus (another ingest, say) leaves no data dir locked and no monitor running. */
const joinBus = (
  config: BusConfig,
  hub: HubConfig,
  hubs: HubRoles,
  log: Logger,
  metrics: Metrics,
  journal: Journal | undefined,
) =>
  startBus(config, {
    hubs,
    limits: { history: hub.history, headlineCount: hub.headlineCount, barDays: hub.barDays },
    log,
    registry: metrics.registry,
  }).catch((err: unknown) => {
    journal?.close();
    metrics.close();
    throw err;
  });

/** What the server reports on besides its clients. */
interface Served {
  hub: Hub;
  log: Logger;
  metrics: Metrics;
  bus: Bus | undefined;
  journal: Journal | undefined;
}

/** Starts the HTTP and WebSocket server; ready once `sawFrame` (an edge: once the bus says so). */
const listen = (
  config: TransportConfig,
  { hub, log, metrics, bus, journal }: Served,
  sawFrame: () => boolean,
): Promise<RunningServer> =>
  startServer({
    ...config,
    hub,
    log,
    assets: ASSETS,
    metrics,
    ready: bus ? bus.ready : sawFrame,
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
        tap({
          next: (frame) => {
            onFrame();
            feedTime.next(frameTime(frame));
          },
          // The bar clock runs on after the source ends: the feed's clock still closes bars.
          complete: () => log.info('source ended; serving the final state'),
        }),
        feedChanges({
          seed: hub.currentValues(),
          days: hub.snapshot(),
          seenHeadlines: hub.seenHeadlineIds(),
          onEvent: reportEvent(log, metrics),
        }),
        config.hub.barDays ? withBarClock(feedClock(feedTime, rate)) : identity,
        publishTo(hub),
      )
      .subscribe({
        error: (err: unknown) => {
          log.error({ err }, 'source failed; serving the last state');
        },
      }),
  );
};
