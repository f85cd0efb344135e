import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { asyncScheduler, interval, Subscription, type SchedulerLike } from 'rxjs';
import WebSocket, { WebSocketServer } from 'ws';
import { TickstreamError } from '../errors.ts';
import { eventJson } from '../hub/event-json.ts';
import type { Hub } from '../hub/hub.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import {
  CloseCode,
  PROTOCOL_VERSION,
  type EventMessage,
  type HubMessage,
  type ServerMessage,
} from '../protocol/messages.ts';
import { candleOf } from '../hub/candles.ts';
import { Admission, type Refusal } from './admission.ts';
import { closeWhenExpired, createAuthenticator } from './auth.ts';
import { trustedProxies } from './client-address.ts';
import { closeReason } from './close-reason.ts';
import { Connection, FULL_SNAPSHOT, type ConnectionContext, type FlushTally } from './connection.ts';
import { handleHttp } from './http-routes.ts';
import { MemoryCeiling } from './memory-ceiling.ts';
import { metricsGuard, openMetricsListener } from './metrics-endpoint.ts';
import { DEFAULT_HEADER_TIMEOUT_MS, DEFAULT_LIMITS, type Limits, type TransportConfig } from './options.ts';
import { FrameCache, WsSink, type Outgoing, type Sink } from './sink.ts';
import { openEventStream } from './sse.ts';
import { loadAssets, type AssetSource } from './static-assets.ts';
import { SubscriberIndex } from './subscriber-index.ts';
import { CandleIndex } from './candles-channel.ts';

/** How long shutdown waits for clients to answer the close handshake. */
const CLOSE_GRACE_MS = 2000;
const LISTEN_BACKLOG = 4096;
const FLUSH_PACING = 2;
const MAX_FLUSH_WAIT_MS = 10;
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

/** Serves the WebSocket protocol at `/ws`, SSE at `/api/stream` and the HTTP endpoints on one port. */
export const startServer = async (options: ServerOptions): Promise<RunningServer> => {
  const { hub, log } = options;
  const metrics = options.metrics ?? createMetrics();
  const scheduler = options.scheduler ?? asyncScheduler;
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits, maxPayload: options.maxPayload };
  const startedAt = Date.now();
  const assets = await loadAssets(options.assets ?? new Map());
  const connections = new Set<Connection>();
  const index = new SubscriberIndex<Connection>();
  const candles = new CandleIndex<Connection>();
  const dirty = new Set<Connection>();
  const frames = new FrameCache();
  let flushScheduled = false;
  let tick = 0;
  let nextClientId = 1;
  let closing: Promise<void> | undefined;

  // Adaptive batching: the first message of a tick schedules one flush, so a quiet feed goes out
  // as soon as the callback that produced it returns (everything it queued for a client leaves as
  // one frame), and a busy one leaves as one frame per client per tick.
  // Batching adapts to load: after a flush that took d ms the next one waits up to
  // FLUSH_PACING × d ms (at most MAX_FLUSH_WAIT_MS), so a busy feed gathers more per frame (fewer
  // socket writes, the dominant cost) while a quiet feed, whose flushes take microseconds, goes
  // out at once. The wait is scaled by the share of clients that flush wrote to: when most clients
  // get something every flush (all symbols), waiting packs more into each of their writes; when
  // only a few do (many clients with a few symbols each), waiting longer would only spread the
  // same writes over more clients per flush, saving none and adding latency. The cap matters: a
  // longer wait makes the next flush bigger and slower, which without a bound feeds back into
  // ever longer waits.
  let nextFlushAt = 0;
  let flushing = false;
  // When each event routed to a client since the last flush arrived from the hub (which emits
  // as it stamps), for the delivery-latency histogram.
  const routedAt: number[] = [];
  const flushAll = () => {
    const started = performance.now();
    flushScheduled = false;
    flushing = true;
    const sent: FlushTally = { messages: 0, bytes: 0 };
    const written = dirty.size;
    try {
      for (const c of dirty) c.flush(frames, sent);
    } finally {
      flushing = false;
    }
    dirty.clear();
    frames.clear();
    tick = 0;
    metrics.messagesOut.inc(sent.messages);
    metrics.bytesOut.inc(sent.bytes);
    const ended = performance.now();
    metrics.flushDuration.observe((ended - started) / 1000);
    for (const at of routedAt) metrics.deliveryLatency.observe((ended - at) / 1000);
    routedAt.length = 0;
    const share = Math.min(1, written / Math.max(1, connections.size));
    nextFlushAt = ended + Math.min((ended - started) * FLUSH_PACING * share, MAX_FLUSH_WAIT_MS);
  };
  const markDirty = (c: Connection) => {
    dirty.add(c);
    if (flushScheduled) return;
    flushScheduled = true;
    const wait = nextFlushAt - performance.now();
    if (wait >= 1) setTimeout(flushAll, wait);
    // A client marked by a flush itself waits for the next turn of the loop: a flush never feeds
    // itself in one turn, which would starve every socket's I/O.
    else if (flushing) setImmediate(flushAll);
    // A microtask rather than setImmediate: the frame leaves right after the callback that made
    // it, without waiting behind the rest of the loop's I/O (~30 µs sooner at light load).
    else queueMicrotask(flushAll);
  };

  // A reconnect storm asks for the same full snapshot thousands of times: build it once per seq.
  let snapshotCache: { epoch: string; seq: number; item: Outgoing } | undefined;
  const fullSnapshot = (): Outgoing => {
    if (snapshotCache?.seq !== hub.seq || snapshotCache.epoch !== hub.epoch) {
      const message: ServerMessage = {
        type: 'snapshot',
        channel: 'quotes',
        seq: hub.seq,
        quotes: hub.snapshot(),
      };
      const alone = `${FULL_SNAPSHOT}${hub.epoch}:${hub.seq}`;
      snapshotCache = { epoch: hub.epoch, seq: hub.seq, item: { json: JSON.stringify(message), alone } };
    }
    return snapshotCache.item;
  };

  // hello then status, the same for everyone who connects at one seq: serialized once, and for
  // WebSocket clients one frame built once. SSE sends them as two events.
  let greetingCache: { key: string; status: ServerMessage; frame: Outgoing; parts: Outgoing[] } | undefined;
  let greetingVersion = 0;
  const greeting = (transport: 'ws' | 'sse'): Outgoing[] => {
    const key = `hello:${hub.epoch}:${hub.seq}`;
    if (greetingCache?.key !== key || greetingCache.status !== hub.status) {
      const hello: ServerMessage = {
        type: 'hello',
        version: PROTOCOL_VERSION,
        epoch: hub.epoch,
        seq: hub.seq,
        heartbeatMs: options.heartbeatMs,
      };
      const parts = [{ json: JSON.stringify(hello) }, { json: JSON.stringify(hub.status) }];
      const frame = {
        json: `[${parts[0]!.json},${parts[1]!.json}]`,
        alone: `greeting:${++greetingVersion}`,
        count: 2,
      };
      greetingCache = { key, status: hub.status, frame, parts };
    }
    return transport === 'ws' ? [greetingCache.frame] : greetingCache.parts;
  };

  // One context shared by every connection: idle memory per connection counts.
  const ctx: ConnectionContext = {
    hub,
    log,
    limits,
    metrics,
    scheduler,
    index,
    candles,
    markDirty,
    fullSnapshot,
    released: (conn, code) => {
      connections.delete(conn);
      dirty.delete(conn);
      admission.closed(conn.bindings.ip);
      metrics.connections.dec();
      log.debug({ ...conn.bindings, code }, 'client disconnected');
    },
  };

  /** Registers a client on any sink and greets it; `conn.release()` forgets it. */
  const addConnection = (sink: Sink, ip: string, transport: 'ws' | 'sse', expiresAt?: number): Connection => {
    const conn = new Connection(sink, ctx, { client: nextClientId++, ip, transport });
    if (expiresAt !== undefined)
      closeWhenExpired(conn, expiresAt, scheduler, () => {
        metrics.refused.inc({ reason: 'token_expired' });
        log.info(conn.bindings, 'token expired; closing the client');
      });
    connections.add(conn);
    admission.opened(ip);
    metrics.connections.inc();
    log.debug(conn.bindings, 'client connected');
    for (const item of greeting(transport)) conn.enqueue(item);
    return conn;
  };

  const waitingBytes = () => {
    let total = 0;
    let max = 0;
    for (const c of connections) {
      const n = c.waitingBytes;
      total += n;
      max = Math.max(max, n);
    }
    return { total, max };
  };

  const auth = createAuthenticator(options.security, { now: () => scheduler.now(), log });
  const metricsOnMainPort = metricsGuard(options.metricsAccess?.token, log);
  const admission = new Admission(limits, auth, trustedProxies(options.trustProxy ?? []), {
    closing: () => closing !== undefined,
    connections: () => connections.size,
    now: () => scheduler.now(),
  });
  /** Counts and logs a refused client. */
  const refuse = (address: string, refused: Refusal) => {
    metrics.refused.inc({ reason: refused.metric });
    log.info({ ip: address, reason: refused.reason }, 'refused client');
  };

  const onHttp = (req: IncomingMessage, res: ServerResponse) => {
    handleHttp(req, res, {
      hub,
      startedAt,
      clientCount: () => connections.size,
      waitingBytes,
      assets,
      metrics,
      ready: options.ready ?? (() => hub.seq > 0),
      notReadyReason: options.notReadyReason ?? 'the source has not yielded a frame yet',
      health: options.health ?? (() => ({})),
      refusal: async (url) => {
        const verdict = await auth.check(req, url);
        if (verdict.ok) return undefined;
        refuse(admission.addressOf(req), { reason: verdict.reason, metric: 'auth' });
        return verdict.reason;
      },
      allowOrigins: options.security?.allowOrigins ?? [],
      metricsAccess: { served: options.metricsAccess?.port === undefined, guard: metricsOnMainPort },
      stream: async (url) => {
        const { address, refused, expiresAt } = await admission.decide(req, url);
        if (refused) {
          refuse(address, refused);
          const status = refused.metric === 'auth' ? 403 : refused.metric === 'connect_rate' ? 429 : 503;
          return { status, message: refused.reason };
        }
        // The client may have gone while its token was checked.
        if (res.destroyed) return undefined;
        return openEventStream(req, res, url, hub, (sink) => addConnection(sink, address, 'sse', expiresAt));
      },
    }).catch((err: unknown) => {
      // The client learns only that something failed; the stack stays in the log.
      log.error({ err }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"internal","message":"internal error"}');
    });
  };
  const headersTimeout = options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS;
  const httpOptions = {
    headersTimeout,
    // Nothing here uploads a body: a whole request takes no longer than its headers.
    requestTimeout: headersTimeout,
    // Node checks both only this often (30 s by default), so a slowloris held a socket up to 90 s.
    connectionsCheckingInterval: Math.min(Math.max(headersTimeout / 4, 100), 30_000),
  };
  const http: Server = options.tls
    ? createTlsServer({ ...options.tls, ...httpOptions }, onHttp)
    : createServer(httpOptions, onHttp);
  const wss = new WebSocketServer({
    noServer: true,
    // Frames up to 4x the request limit are read and answered payload_too_large; beyond, 1009.
    maxPayload: limits.maxPayload * 4,
    perMessageDeflate: false,
  });

  http.on('upgrade', (req, socket, head) => {
    // Node hands over the socket with no error listener: a peer reset before ws takes it would
    // be an uncaught error.
    socket.on('error', onSocketError);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      return;
    }
    if (url.pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    admission.decide(req, url).then(
      ({ address, refused, expiresAt }) =>
        wss.handleUpgrade(req, socket, head, (ws) => {
          // Before anything else: a refused client's next frame can still be malformed, and an
          // 'error' with no listener ends the process.
          ws.on('error', onError);
          if (refused) {
            // Refused after the handshake so that browsers, which never see an HTTP status, get the reason.
            refuse(address, refused);
            ws.close(CloseCode.policy, closeReason(refused.reason));
            return;
          }
          acceptWs(ws, address, expiresAt);
        }),
      (err: unknown) => {
        log.error({ err }, 'admission failed');
        socket.destroy();
      },
    );
  });

  // One set of listeners shared by every socket (`this` is the socket) instead of four closures
  // per client: idle memory per connection counts.
  const clientOf = new WeakMap<WebSocket, Connection>();
  function onMessage(this: WebSocket, data: Buffer, isBinary: boolean) {
    clientOf.get(this)?.receive(isBinary ? '' : data.toString(), data.length, isBinary);
  }
  function onPong(this: WebSocket) {
    const conn = clientOf.get(this);
    if (conn) conn.alive = true;
  }
  function onClose(this: WebSocket, code: number) {
    clientOf.get(this)?.release(code);
  }
  const onError = (err: Error) => log.debug({ err }, 'client socket error');
  const onSocketError = (err: Error) => log.debug({ err }, 'client socket error before the handshake');

  const acceptWs = (ws: WebSocket, address: string, expiresAt: number | undefined) => {
    clientOf.set(ws, addConnection(new WsSink(ws), address, 'ws', expiresAt));
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('close', onClose);
  };

  /** Queues one message for every client, serialized once. */
  const broadcast = (message: ServerMessage) => {
    const item: Outgoing = { json: JSON.stringify(message), tick: tick++ };
    for (const c of connections) c.enqueue(item);
  };

  /** The item of a message routed to clients, serialized once for all of them. */
  const shared = (message: EventMessage): Outgoing => ({ json: eventJson(message), message, tick: tick++ });

  const fanOut = (message: HubMessage) => {
    let routed = false;
    const deliver = (c: Connection, item: Outgoing) => {
      routed = true;
      c.deliver(item);
    };
    if (message.type === 'bars')
      for (const bar of message.bars) {
        // Made on the first subscriber: most bars of most symbols have none.
        let item: Outgoing | undefined;
        candles.forBar(bar, (c) => deliver(c, (item ??= shared(candleOf(message.seq, bar)))));
      }
    else {
      const item = shared(message);
      if (message.type === 'quote') index.forQuote(message.symbol, (c) => deliver(c, item));
      else for (const c of index.headlines) deliver(c, item);
    }
    if (routed) routedAt.push(performance.now());
  };

  const subscriptions = new Subscription();
  subscriptions.add(hub.messages$.subscribe(fanOut));
  // The current status went out with hello; only changes are broadcast.
  subscriptions.add(hub.status$.subscribe((status) => connections.size > 0 && broadcast(status)));
  // Deltas after a replaced state do not continue what a client holds: it reconnects, resumes
  // with its old position and gets recovered:false with a fresh snapshot.
  subscriptions.add(
    hub.restored$.subscribe((position) => {
      if (connections.size > 0)
        log.warn({ ...position, clients: connections.size }, 'state replaced; clients reconnect to resync');
      for (const c of [...connections])
        c.close(CloseCode.serviceRestart, 'state reloaded; reconnect and resume');
    }),
  );
  const ceiling = new MemoryCeiling<Connection>(limits.maxWaitingBytes, (action, c) => {
    metrics.waitingSheds.inc({ action });
    log.warn({ ...c.bindings, action, waitingBytes: c.waitingBytes }, 'over --max-waiting-bytes');
  });
  subscriptions.add(
    interval(options.ceilingCheckMs ?? CEILING_CHECK_MS, scheduler).subscribe(() =>
      ceiling.check(connections),
    ),
  );
  subscriptions.add(
    interval(options.heartbeatMs, scheduler).subscribe(() => {
      broadcast({ type: 'heartbeat', seq: hub.seq, ts: new Date(scheduler.now()).toISOString() });
      for (const c of connections) {
        // SSE peers are found dead by their socket closing; WebSocket peers by a missed pong.
        if (!(c.sink instanceof WsSink)) continue;
        if (!c.alive) {
          c.sink.terminate();
          continue;
        }
        c.alive = false;
        c.sink.ping();
      }
    }),
  );

  await new Promise<void>((resolve, reject) => {
    const failed = (cause: Error) => {
      subscriptions.unsubscribe();
      reject(
        new TickstreamError(
          'listen_failed',
          `cannot listen on ${options.host}:${options.port}: ${cause.message}`,
          {
            cause,
          },
        ),
      );
    };
    http.once('error', failed);
    // A reconnect storm opens thousands of connections at once: Node's default backlog of 511
    // makes the rest wait for SYN retries (seconds). The kernel caps it at net.core.somaxconn.
    http.listen({ port: options.port, host: options.host, backlog: LISTEN_BACKLOG }, () => {
      http.off('error', failed);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const metricsListener = await openMetricsListener(options.metricsAccess, metrics.registry, log).catch(
    (err: unknown) => {
      subscriptions.unsubscribe();
      http.close();
      throw err;
    },
  );
  const scheme = options.tls ? 'wss' : 'ws';
  log.info({ port, host: options.host, tls: Boolean(options.tls) }, 'listening');

  const close = async () => {
    const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
    subscriptions.unsubscribe();
    broadcast({ ...hub.status, state: 'ended', asOf: new Date().toISOString() });
    flushAll();
    const all = [...connections];
    const closed = all.map((c) => new Promise<void>((resolve) => c.sink.onClosed(resolve)));
    for (const c of all) c.close(CloseCode.goingAway, 'server shutting down');
    // A peer that does not answer the close handshake in time is cut off.
    const deadline = setTimeout(() => all.forEach((c) => c.sink.terminate()), CLOSE_GRACE_MS);
    await Promise.all(closed);
    clearTimeout(deadline);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    http.closeAllConnections();
    await httpClosed;
    await metricsListener.close();
    if (!options.metrics) metrics.close();
  };
  return {
    port,
    url: `${scheme}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/ws`,
    metrics,
    ...(metricsListener.port !== undefined && { metricsPort: metricsListener.port }),
    clientCount: () => connections.size,
    waitingBytes,
    close: () => (closing ??= close()),
  };
};
