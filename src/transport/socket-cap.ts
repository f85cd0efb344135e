import type { BlockList, Server, Socket } from 'node:net';
import { isTrustedProxy, plain } from './client-address.ts';

/**
 * Sockets one address may hold, per WebSocket or SSE connection it may hold: as many again for
 * plain HTTP.
 */
export const SOCKETS_PER_CONNECTION = 2;

/**
 * Caps the sockets each peer address holds open, plain HTTP and WebSocket alike, at `max`:
 * every socket is an open file whether or not it ever sends a request (one that does not is cut
 * off after `--header-timeout`), so one address opening thousands would use up the process's
 * open-file limit and shut every other client out, at the kernel, before any per-address limit
 * could answer. A socket past the cap is closed at once. Trusted proxies carry every client
 * and are not capped; behind them the proxy must cap what each client opens.
 */
export const capSocketsPerPeer = (
  server: Server,
  max: number,
  trusted: BlockList | undefined,
  refused: (address: string) => void,
): void => {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = plain(socket.remoteAddress ?? '');
    if (address === '' || isTrustedProxy(address, trusted)) return;
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      socket.destroy();
      return refused(address);
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = open.get(address)! - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
};
