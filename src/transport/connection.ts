import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { Hub } from '../hub/hub.ts';
import type {
  ClientRequest,
  HubMessage,
  ServerMessage,
  SubscribeRequest,
  UnsubscribeRequest,
} from '../protocol/messages.ts';
import { ConnectionInterest } from './interest.ts';
import { parseRequest } from './requests.ts';

export interface ConnectionContext {
  hub: Hub;
  log: Logger;
  /** Asks the server to flush this connection's queue at the end of the tick. */
  scheduleFlush: (connection: Connection) => void;
}

/**
 * One WebSocket client: its subscriptions and the messages queued for it this tick.
 * What is queued in one tick leaves as one frame.
 */
export class Connection {
  readonly interest = new ConnectionInterest();
  private queue: string[] = [];
  alive = true;

  constructor(
    readonly socket: WebSocket,
    private readonly ctx: ConnectionContext,
  ) {}

  /** Whether a hub event goes to this client. */
  wants(message: HubMessage): boolean {
    return message.type === 'quote' ? this.interest.wantsQuote(message.symbol) : this.interest.wantsHeadlines;
  }

  /** Queues an already-serialized message; the same string is shared by every receiver. */
  enqueue(json: string): void {
    if (this.queue.length === 0) this.ctx.scheduleFlush(this);
    this.queue.push(json);
  }

  send(message: ServerMessage): void {
    this.enqueue(JSON.stringify(message));
  }

  /** Sends what is queued: one message as itself, several as one JSON array frame. */
  flush(): void {
    if (this.queue.length === 0) return;
    const frame = this.queue.length === 1 ? this.queue[0]! : `[${this.queue.join(',')}]`;
    this.queue = [];
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(frame);
  }

  /** Handles one frame from the client; a bad one is answered with an error, never thrown. */
  receive(raw: string): void {
    const result = parseRequest(raw);
    if (!result.ok) {
      this.ctx.log.debug(
        { code: result.error.code, reason: result.error.message },
        'rejected client request',
      );
      this.send(result.error);
      return;
    }
    this.handle(result.request);
  }

  private handle(request: ClientRequest): void {
    switch (request.op) {
      case 'ping':
        return this.send({ type: 'pong', ...(request.id !== undefined && { id: request.id }) });
      case 'subscribe':
        return this.subscribe(request);
      case 'unsubscribe':
        return this.unsubscribe(request);
    }
  }

  private subscribe(request: SubscribeRequest): void {
    const { hub } = this.ctx;
    const id = request.id !== undefined ? { id: request.id } : {};
    const requested = new ConnectionInterest();
    if (request.channel === 'quotes') {
      requested.addQuotes(request.symbols);
      this.interest.addQuotes(request.symbols);
    } else {
      requested.wantsHeadlines = true;
      this.interest.wantsHeadlines = true;
    }
    const resumed = request.since ? hub.resume(request.since, requested) : { recovered: false as const };
    this.send({
      type: 'subscribed',
      ...id,
      channel: request.channel,
      ...(request.symbols && { symbols: request.symbols }),
      recovered: resumed.recovered,
    });
    if (resumed.recovered) {
      for (const m of resumed.messages) this.enqueue(JSON.stringify(m));
    } else if (request.channel === 'quotes') {
      this.send({
        type: 'snapshot',
        channel: 'quotes',
        seq: hub.seq,
        quotes: hub.snapshot((s) => requested.wantsQuote(s)),
      });
    } else {
      this.send({ type: 'snapshot', channel: 'headlines', seq: hub.seq, headlines: hub.latestHeadlines() });
    }
  }

  private unsubscribe(request: UnsubscribeRequest): void {
    if (request.channel === 'quotes') this.interest.removeQuotes(request.symbols);
    else this.interest.wantsHeadlines = false;
  }
}
