/**
 * Peer: socket.io over WebSocket only. `emit` mode (argv[2]) broadcasts each update to its
 * rooms; `batch` mode gathers a tick's updates and emits them as arrays, one per room, which
 * is the most batching socket.io allows while still encoding each packet once per room.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import type { QuoteMessage } from '../../src/protocol/messages.ts';
import { QuoteGenerator } from '../feed.ts';
import { hostFeed } from './host.ts';
import { deltaStamper, type PeerSubscribe } from './messages.ts';

/** The room of subscribers to every symbol; the others join one room per symbol. */
const ALL = '*';
const mode = process.argv[2] === 'batch' ? 'batch' : 'emit';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
io.on('connection', (socket) => {
  socket.on('subscribe', (request: PeerSubscribe) => {
    if (!request || (request.symbols !== undefined && !Array.isArray(request.symbols))) {
      socket.emit('bad_request', { message: 'symbols must be an array of strings' });
      return;
    }
    void socket.join(request.symbols ?? ALL);
    socket.emit('subscribed', {});
  });
});
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));

let pending: QuoteMessage[] = [];
// Adaptive like tickstream: whatever arrived before the event loop turns leaves together.
const flush = () => {
  const batch = pending;
  pending = [];
  io.to(ALL).emit('quotes', batch);
  const bySymbol = new Map<string, QuoteMessage[]>();
  for (const m of batch) bySymbol.set(m.symbol, [...(bySymbol.get(m.symbol) ?? []), m]);
  for (const [symbol, messages] of bySymbol) io.to(symbol).emit('quotes', messages);
};

const generator = new QuoteGenerator();
const stamp = deltaStamper(generator);
hostFeed(
  {
    port: (http.address() as { port: number }).port,
    publish: (burst, { iso: ts }) => {
      for (const q of burst) {
        const message = stamp(q, ts);
        if (mode === 'emit') io.to([ALL, message.symbol]).emit('quote', message);
        else if (pending.push(message) === 1) setImmediate(flush);
      }
    },
  },
  generator,
);
