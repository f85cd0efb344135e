import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Subscription } from 'rxjs';
import { WebSocketServer } from 'ws';
import type { Hub } from '../hub/hub.ts';
import { CloseCode, PROTOCOL_VERSION, type HubMessage } from '../protocol/messages.ts';
import { Connection } from './connection.ts';
import { handleHttp } from './http-routes.ts';
import type { TransportConfig } from './options.ts';

const CLOSE_GRACE_MS = 2000;

export interface ServerOptions extends TransportConfig {
  hub: Hub;
  log: Logger;
  assets?: ReadonlyMap<string, { file: string; type: string }>;
}

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  clientCount(): number;
  /** Closes every client with 1001 and stops listening; safe to call twice. */
  close(): Promise<void>;
}

/** Serves the WebSocket protocol at `/ws` and the HTTP endpoints on the same port. */
export const startServer = async (options: ServerOptions): Promise<RunningServer> => {
  const { hub, log } = options;
  const startedAt = Date.now();
  const connections = new Set<Connection>();
  const dirty = new Set<Connection>();
  let flushScheduled = false;
  let nextClientId = 1;

  // One flush per tick for every client with queued messages: batching is adaptive, a
  // quiet feed goes out at once, a busy one in per-tick frames.
  const flushAll = () => {
    flushScheduled = false;
    for (const c of dirty) c.flush();
    dirty.clear();
  };
  const scheduleFlush = (c: Connection) => {
    dirty.add(c);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushAll);
    }
  };

  const http: Server = createServer((req, res) => {
    handleHttp(req, res, {
      hub,
      startedAt,
      clientCount: () => connections.size,
      assets: options.assets ?? new Map(),
    }).catch((err: unknown) => {
      log.error({ err }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"internal","message":"internal error"}');
    });
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload,
    perMessageDeflate: false,
  });

  http.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws, req) => {
    const clientLog = log.child({ client: nextClientId++, ip: req.socket.remoteAddress });
    const conn = new Connection(ws, { hub, log: clientLog, scheduleFlush });
    connections.add(conn);
    clientLog.debug('client connected');
    conn.send({
      type: 'hello',
      version: PROTOCOL_VERSION,
      epoch: hub.epoch,
      seq: hub.seq,
      heartbeatMs: options.heartbeatMs,
    });
    conn.send(hub.status);
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        conn.send({
          type: 'error',
          code: 'bad_request',
          message: 'binary frames are not accepted; send JSON text',
        });
        return;
      }
      conn.receive(data.toString());
    });
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('error', (err) => clientLog.debug({ err }, 'client socket error'));
    ws.on('close', (code) => {
      connections.delete(conn);
      dirty.delete(conn);
      clientLog.debug({ code }, 'client disconnected');
    });
  });

  const fanOut = (message: HubMessage) => {
    // Serialized once, shared by every client that receives it.
    const json = JSON.stringify(message);
    for (const c of connections) if (c.wants(message)) c.enqueue(json);
  };

  const subscriptions = new Subscription();
  subscriptions.add(hub.messages$.subscribe(fanOut));
  subscriptions.add(
    hub.status$.subscribe((status) => {
      const json = JSON.stringify(status);
      for (const c of connections) c.enqueue(json);
    }),
  );
  const heartbeat = setInterval(() => {
    const json = JSON.stringify({ type: 'heartbeat', seq: hub.seq, ts: new Date().toISOString() });
    for (const c of connections) {
      // A peer that did not answer the last ping is gone without a close: free it.
      if (!c.alive) {
        c.socket.terminate();
        continue;
      }
      c.alive = false;
      c.socket.ping();
      c.enqueue(json);
    }
  }, options.heartbeatMs);
  subscriptions.add(() => clearInterval(heartbeat));

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  log.info({ port, host: options.host }, 'listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `ws://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/ws`,
    clientCount: () => connections.size,
    close: () =>
      (closing ??= (async () => {
        subscriptions.unsubscribe();
        flushAll();
        const closed = [...connections].map(
          (c) =>
            new Promise<void>((resolve) =>
              c.socket.readyState === c.socket.CLOSED ? resolve() : c.socket.once('close', () => resolve()),
            ),
        );
        for (const c of connections) c.socket.close(CloseCode.goingAway, 'server shutting down');
        // A peer that does not answer the close handshake in time is cut off.
        const deadline = setTimeout(() => connections.forEach((c) => c.socket.terminate()), CLOSE_GRACE_MS);
        await Promise.all(closed);
        clearTimeout(deadline);
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await httpClosed;
      })()),
  };
};
