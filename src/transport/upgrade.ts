import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { CloseCode } from '../protocol/messages.ts';
import { refusedForGood, type Refusal, type Verdict } from './admission.ts';
import { closeReason } from './close-reason.ts';

/** What a WebSocket client turns into once accepted, and the events the server routes to it. */
export interface WsClient {
  receive(data: Buffer, binary: boolean): void;
  release(code?: number): void;
}

/** What upgrade handling needs from the server. */
export interface UpgradeDeps<T extends WsClient> {
  /** Frames up to 4x this are read (and answered payload_too_large); beyond, 1009. */
  maxPayload: number;
  decide: (req: IncomingMessage, url: URL) => Promise<Verdict>;
  refuse: (address: string, refused: Refusal) => void;
  /** Registers an accepted socket as a client. */
  accept: (ws: WebSocket, address: string, expiresAt: number | undefined) => T;
  pong: (client: T) => void;
  log: Logger;
}

/**
 * Takes WebSocket upgrades at `/ws` on `http`: the path, then admission, then the handshake.
 * A refused client is refused after the handshake, with a close and the reason, since a
 * browser never sees an HTTP status: 1008 for its origin or token, 1013 (try again later) for
 * a refusal that passes with time. Returns the WebSocketServer (closed at shutdown).
 */
export const handleUpgrades = <T extends WsClient>(http: Server, deps: UpgradeDeps<T>): WebSocketServer => {
  const { log } = deps;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: deps.maxPayload * 4,
    perMessageDeflate: false,
  });
  // One set of listeners shared by every socket (`this` is the socket) instead of closures per
  // client: idle memory per connection counts.
  const clientOf = new WeakMap<WebSocket, T>();
  function onMessage(this: WebSocket, data: Buffer, isBinary: boolean) {
    clientOf.get(this)?.receive(data, isBinary);
  }
  function onPong(this: WebSocket) {
    const client = clientOf.get(this);
    if (client) deps.pong(client);
  }
  function onClose(this: WebSocket, code: number) {
    clientOf.get(this)?.release(code);
  }
  const onError = (err: Error) => log.debug({ err }, 'client socket error');
  const onSocketError = (err: Error) => log.debug({ err }, 'client socket error before the handshake');

  const upgraded = (ws: WebSocket, { address, refused, expiresAt }: Verdict) => {
    // Before anything else: a refused client's next frame can still be malformed, and an
    // 'error' with no listener ends the process.
    ws.on('error', onError);
    if (refused) {
      deps.refuse(address, refused);
      const code = refusedForGood(refused) ? CloseCode.policy : CloseCode.tryAgainLater;
      ws.close(code, closeReason(refused.reason));
      return;
    }
    clientOf.set(ws, deps.accept(ws, address, expiresAt));
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('close', onClose);
  };

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands over the socket with no error listener: a peer reset before ws takes it would
    // be an uncaught error.
    socket.on('error', onSocketError);
    const url = urlOf(req);
    if (url?.pathname !== '/ws') {
      socket.end(`HTTP/1.1 ${url ? '404 Not Found' : '400 Bad Request'}\r\nconnection: close\r\n\r\n`);
      return;
    }
    deps.decide(req, url).then(
      (verdict) => wss.handleUpgrade(req, socket, head, (ws) => upgraded(ws, verdict)),
      (err: unknown) => {
        log.error({ err }, 'admission failed');
        socket.destroy();
      },
    );
  });
  return wss;
};

const urlOf = (req: IncomingMessage): URL | undefined => {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
};
