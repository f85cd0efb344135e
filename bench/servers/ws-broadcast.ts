/**
 * Peer: a plain `ws` broadcast server written the way most tutorials do it: for each update,
 * for each interested client, `JSON.stringify` and `send`.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { QuoteGenerator } from '../feed.ts';
import { hostFeed } from './host.ts';
import { deltaStamper, type PeerSubscribe } from './messages.ts';

interface Client {
  ws: WebSocket;
  /** undefined: every symbol. */
  symbols?: Set<string>;
  subscribed: boolean;
}

const clients = new Set<Client>();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws) => {
  const client: Client = { ws, subscribed: false };
  clients.add(client);
  ws.on('message', (data) => {
    try {
      const request = JSON.parse(data.toString()) as PeerSubscribe;
      if (request.symbols) client.symbols = new Set(request.symbols);
      client.subscribed = true;
      ws.send(JSON.stringify({ type: 'subscribed' }));
    } catch (err) {
      ws.send(JSON.stringify({ type: 'error', message: (err as Error).message }));
    }
  });
  ws.on('close', () => clients.delete(client));
  ws.on('error', () => clients.delete(client));
});
await new Promise((resolve) => wss.once('listening', resolve));

const generator = new QuoteGenerator();
const stamp = deltaStamper(generator);
hostFeed(
  {
    port: (wss.address() as { port: number }).port,
    publish: (burst, { iso: ts }) => {
      for (const q of burst) {
        const message = stamp(q, ts);
        for (const c of clients)
          if (c.subscribed && (!c.symbols || c.symbols.has(message.symbol)))
            c.ws.send(JSON.stringify(message));
      }
    },
  },
  generator,
);
