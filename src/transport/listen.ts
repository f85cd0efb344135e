import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TickstreamError } from '../errors.ts';
import { CloseCode } from '../protocol/messages.ts';
import type { Sink } from './sink.ts';

/** How long shutdown waits for clients to answer the close handshake. */
const CLOSE_GRACE_MS = 2000;
// A reconnect storm opens thousands of connections at once: Node's default backlog of 511
// makes the rest wait for SYN retries (seconds). The kernel caps it at net.core.somaxconn.
const LISTEN_BACKLOG = 4096;

/** Listens on `host:port`; resolves with the port bound, rejects with `listen_failed`. */
export const listen = (http: Server, host: string, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const failed = (cause: Error) =>
      reject(
        new TickstreamError('listen_failed', `cannot listen on ${host}:${port}: ${cause.message}`, { cause }),
      );
    http.once('error', failed);
    http.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      http.off('error', failed);
      resolve((http.address() as AddressInfo).port);
    });
  });

/** What shutdown closes of a client. */
export interface Closable {
  readonly sink: Pick<Sink, 'onClosed' | 'terminate'>;
  close(code: number, reason: string): void;
}

/**
 * Closes every client with 1001 and waits for the close handshakes; a peer that does not answer
 * within the grace period is cut off.
 */
export const closeClients = async (clients: Iterable<Closable>, graceMs = CLOSE_GRACE_MS): Promise<void> => {
  const all = [...clients];
  const closed = all.map((c) => new Promise<void>((resolve) => c.sink.onClosed(resolve)));
  for (const c of all) c.close(CloseCode.goingAway, 'server shutting down');
  const deadline = setTimeout(() => all.forEach((c) => c.sink.terminate()), graceMs);
  await Promise.all(closed);
  clearTimeout(deadline);
};
