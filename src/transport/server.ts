import type { Logger } from 'pino';
import { asyncScheduler, interval, Subscription, type SchedulerLike } from 'rxjs';
import type { Hub } from '../hub/hub.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import { CloseCode } from '../protocol/messages.ts';
import { Admission, type Refusal } from './admission.ts';
import { createAuthenticator } from './auth.ts';
import { CandleIndex } from './candles-channel.ts';
import { trustedProxies } from './client-address.ts';
import type { Connection } from './connection.ts';
import { ConnectionRegistry } from './connection-registry.ts';
import { FanOut } from './fan-out.ts';
import { capSocketsPerPeer, SOCKETS_PER_CONNECTION } from './socket-cap.ts';
import { FlushScheduler } from './flush-scheduler.ts';
import { CandleSnapshotCache, GreetingCache, SnapshotCache } from './greetings.ts';
import { Heartbeat } from './heartbeat.ts';
import { ItemBudget } from './item-budget.ts';
import { ReadBudget } from './read-budget.ts';
import { createHttpServer } from './http-server.ts';
import { closeClients, listen } from './listen.ts';
import { MemoryCeiling } from './memory-ceiling.ts';
import { connectionsWithinOpenFiles, socketRoom } from './open-files.ts';
import { metricsGuard, openMetricsListener } from './metrics-endpoint.ts';
import { DEFAULT_LIMITS, DEFAULT_MAX_DELAY_MS, type Limits, type TransportConfig } from './options.ts';
import { WsSink } from './sink.ts';
import { loadAssets, type Assets, type AssetSource } from './static-assets.ts';
import { SubscriberIndex } from './subscriber-index.ts';
import { handleUpgrades } from './upgrade.ts';

/** How often the bytes waiting for all clients are held against --max-waiting-bytes. */
const CEILING_CHECK_MS = 250;

/** What the server needs beyond its flags. */
export interface ServerOptions extends TransportConfig {
  hub: Hub;
  log: Logger;
  /** How often waiting bytes are held against the ceiling [250 ms]; virtual-time tests that jump days lengthen it. */
  ceilingCheckMs?: number;
  /** Static files by URL path (the demo page, the widget bundle), read once at start. */
  assets?: ReadonlyMap<string, AssetSource>;
  /** Where every stage reports; a private registry when absent. */
  metrics?: Metrics;
  /** Whether the source has yielded a frame (`/readyz`); defaults to the hub having events. */
  ready?: () => boolean;
  /** What `/readyz` says while not ready. */
  notReadyReason?: string;
  /** More fields for `/healthz` and `/readyz` (a bus's role, Redis link and lag). */
  health?: () => Record<string, unknown>;
  /** Time for heartbeats, maxRate and request windows; tests pass a virtual one. */
  scheduler?: SchedulerLike;
}

/** A listening server. */
export interface RunningServer {
  readonly port: number;
  readonly url: string;
  readonly metrics: Metrics;
  /** The port of the `/metrics` listener, when it has one of its own (`--metrics-port`). */
  readonly metricsPort?: number;
  clientCount(): number;
  /** Bytes held for clients (socket buffers plus queues): the total and the largest one client holds. */
  waitingBytes(): { total: number; max: number };
  /** Stops accepting, sends a final status, closes every client with 1001; safe to call twice. */
  close(): Promise<void>;
}

/** What every part of one server is built from. */
interface Context {
  options: ServerOptions;
  limits: Limits;
  metrics: Metrics;
  scheduler: SchedulerLike;
}

/** The parts of one server, wired to each other: who holds which client, and what reaches it. */
interface Parts {
  auth: ReturnType<typeof createAuthenticator>;
  trusted: ReturnType<typeof trustedProxies>;
  admission: Admission;
  items: ItemBudget;
  registry: ConnectionRegistry;
  flushes: FlushScheduler<Connection>;
  heartbeat: Heartbeat<Connection>;
  fanOut: FanOut<Connection>;
}

/** Builds the server's parts; `closing` tells admission to turn newcomers away. */
const wireParts = (context: Context, closing: () => boolean): Parts => {
  const { options, limits, metrics, scheduler } = context;
  const { hub, log } = options;
  const index = new SubscriberIndex<Connection>();
  const candles = new CandleIndex<Connection>();
  const flushes = new FlushScheduler<Connection>(options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS, metrics);
  const snapshots = new SnapshotCache(hub);
  const candleSnapshots = new CandleSnapshotCache(hub);
  const greetings = new GreetingCache(hub, options.heartbeatMs);
  const auth = createAuthenticator(options.security, { now: () => scheduler.now(), log });
  const trusted = trustedProxies(options.trustProxy ?? []);
  const admission = new Admission(limits, auth, trusted, {
    closing,
    connections: () => registry.size,
    now: () => scheduler.now(),
  });
  const items = new ItemBudget(limits.maxItemsPerIp, () => scheduler.now());
  const reads = new ReadBudget(limits.maxRequestBytesPerIp, scheduler, () => metrics.readHolds.inc());
  const registry: ConnectionRegistry = new ConnectionRegistry(
    {
      hub,
      log,
      limits,
      metrics,
      scheduler,
      items,
      reads,
      index,
      candles,
      markDirty: (c) => flushes.markDirty(c),
      fullSnapshot: () => snapshots.fullSnapshot(),
      candleSnapshot: (interval, symbols, fresh) => candleSnapshots.snapshot(interval, symbols, fresh),
    },
    {
      admission,
      greeting: (transport) => greetings.greeting(transport),
      forget: (c) => {
        flushes.forget(c);
        heartbeat.forget(c);
      },
    },
  );
  const fanOut = new FanOut(
    index,
    candles,
    registry,
    () => flushes.nextPosition(),
    (symbol, interval) => hub.latestBar(symbol, interval),
  );
  const heartbeat = new Heartbeat(
    registry,
    (message) => fanOut.broadcast(message),
    () => hub.seq,
    scheduler,
  );
  return { auth, trusted, admission, items, registry, flushes, heartbeat, fanOut };
};

/** The HTTP server (endpoints, SSE) and the WebSocket upgrades on it, not yet listening. */
const createListeners = (context: Context, parts: Parts, assets: Assets) => {
  const { options, limits, metrics } = context;
  const { hub, log } = options;
  const { registry, admission } = parts;
  /** Counts and logs a refused client. */
  const refuse = (address: string, refused: Refusal) => {
    metrics.refused.inc({ reason: refused.metric });
    log.info({ ip: address, reason: refused.reason }, 'refused client');
  };
  const http = createHttpServer(options, {
    hub,
    startedAt: Date.now(),
    clientCount: () => registry.size,
    waitingBytes: () => registry.waitingBytes(),
    assets,
    metrics,
    ready: options.ready ?? (() => hub.seq > 0),
    notReadyReason: options.notReadyReason ?? 'the source has not yielded a frame yet',
    health: options.health ?? (() => ({})),
    allowOrigins: options.security?.allowOrigins ?? [],
    metricsAccess: {
      served: options.metricsAccess?.port === undefined,
      guard: metricsGuard(options.metricsAccess?.token, log),
    },
    items: parts.items,
    auth: parts.auth,
    admission,
    refuse,
    openSse: (sink, address, expiresAt) => registry.add(sink, address, 'sse', expiresAt),
    log,
  });
  // Past this Node closes new sockets at once: plain HTTP ones from many addresses cannot take
  // the descriptors the journal and Redis need (WebSocket clients stop at --max-connections first).
  http.maxConnections = socketRoom();
  capSocketsPerPeer(http, SOCKETS_PER_CONNECTION * limits.maxConnectionsPerIp, parts.trusted, (address) => {
    metrics.refused.inc({ reason: 'sockets_per_ip' });
    log.debug({ ip: address }, 'closed a socket over the per-address cap');
  });
  const wss = handleUpgrades(http, {
    maxPayload: limits.maxPayload,
    decide: (req, url) => admission.decide(req, url),
    refuse,
    accept: (ws, address, expiresAt) => registry.add(new WsSink(ws), address, 'ws', expiresAt),
    pong: (c) => parts.heartbeat.pong(c),
    log,
  });
  return { http, wss };
};

/** What the server follows while it runs: the hub's events, status and restores, the memory ceiling, heartbeats. */
const followHub = (context: Context, parts: Parts): Subscription => {
  const { options, limits, metrics, scheduler } = context;
  const { hub, log } = options;
  const { registry, fanOut } = parts;
  const subscriptions = new Subscription();
  subscriptions.add(hub.messages$.subscribe(fanOut.route));
  // The current status went out with hello; only changes are broadcast.
  subscriptions.add(hub.status$.subscribe((status) => registry.size > 0 && fanOut.broadcast(status)));
  // Deltas after a replaced state do not continue what a client holds: it reconnects, resumes
  // with its old position and gets recovered:false with a fresh snapshot.
  subscriptions.add(
    hub.restored$.subscribe((position) => {
      if (registry.size > 0)
        log.warn({ ...position, clients: registry.size }, 'state replaced; clients reconnect to resync');
      for (const c of [...registry])
        c.close(CloseCode.serviceRestart, 'state reloaded; reconnect and resume');
    }),
  );
  const ceiling = new MemoryCeiling<Connection>(limits.maxWaitingBytes, (action, c) => {
    metrics.waitingSheds.inc({ action });
    log.warn({ ...c.bindings, action, waitingBytes: c.waitingBytes }, 'over --max-waiting-bytes');
  });
  subscriptions.add(
    interval(options.ceilingCheckMs ?? CEILING_CHECK_MS, scheduler).subscribe(() => ceiling.check(registry)),
  );
  subscriptions.add(parts.heartbeat.start(options.heartbeatMs));
  return subscriptions;
};

/** Serves the WebSocket protocol at `/ws`, SSE at `/api/stream` and the HTTP endpoints on one port. */
export const startServer = async (options: ServerOptions): Promise<RunningServer> => {
  const { hub, log } = options;
  const metrics = options.metrics ?? createMetrics();
  const asked: Limits = { ...DEFAULT_LIMITS, ...options.limits, maxPayload: options.maxPayload };
  const limits = { ...asked, maxConnections: connectionsWithinOpenFiles(asked.maxConnections, log) };
  const assets = await loadAssets(options.assets ?? new Map());
  let closing: Promise<void> | undefined;
  const context = { options, limits, metrics, scheduler: options.scheduler ?? asyncScheduler };
  const parts = wireParts(context, () => closing !== undefined);
  const { registry, flushes, fanOut } = parts;
  const { http, wss } = createListeners(context, parts, assets);
  const subscriptions = followHub(context, parts);

  const port = await listen(http, options.host, options.port).catch((err: unknown) => {
    subscriptions.unsubscribe();
    throw err;
  });
  const metricsListener = await openMetricsListener(options.metricsAccess, metrics.registry, log).catch(
    (err: unknown) => {
      subscriptions.unsubscribe();
      http.close();
      throw err;
    },
  );
  log.info({ port, host: options.host, tls: Boolean(options.tls) }, 'listening');

  const close = async () => {
    const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
    subscriptions.unsubscribe();
    fanOut.broadcast({ ...hub.status, state: 'ended', asOf: new Date().toISOString() });
    flushes.flushNow();
    await closeClients(registry);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    http.closeAllConnections();
    await httpClosed;
    await metricsListener.close();
    if (!options.metrics) metrics.close();
  };
  const scheme = options.tls ? 'wss' : 'ws';
  return {
    port,
    url: `${scheme}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/ws`,
    metrics,
    ...(metricsListener.port !== undefined && { metricsPort: metricsListener.port }),
    clientCount: () => registry.size,
    waitingBytes: () => registry.waitingBytes(),
    close: () => (closing ??= close()),
  };
};
