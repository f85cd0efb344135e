import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import type { Hub } from '../hub/hub.ts';
import type { Metrics } from '../metrics.ts';
import {
  CloseCode,
  type BarInterval,
  type ClientRequest,
  type ErrorCode,
  type RequestId,
  type ServerMessage,
  type SubscribeRequest,
} from '../protocol/messages.ts';
import type { Limits } from './options.ts';
import { Conflator } from './conflator.ts';
import { RequestWindow } from './request-window.ts';
import { screenRequest } from './request-screen.ts';
import { SendQueue, type FlushTally } from './send-queue.ts';
import type { FrameCache, Outgoing, Sink } from './sink.ts';
import type { SubscriberIndex } from './subscriber-index.ts';
import { Subscriptions, withId } from './subscriptions.ts';
import type { CandleIndex } from './candles-channel.ts';
import type { HeldCandleSnapshot } from './greetings.ts';
import type { ItemBudget } from './item-budget.ts';
import type { ReadBudget } from './read-budget.ts';

/** A client that stops answering for this long after a slow-consumer close is cut off. */
const SLOW_CLOSE_GRACE_MS = 5000;

/** What a connection needs from its server: one object shared by every connection. */
export interface ConnectionContext {
  hub: Hub;
  /** The server's logger; each connection makes its child on first use. */
  log: Logger;
  limits: Limits;
  metrics: Metrics;
  scheduler: SchedulerLike;
  index: SubscriberIndex<Connection>;
  candles: CandleIndex<Connection>;
  /** Asks the flush scheduler to flush this connection. */
  markDirty: (connection: Connection) => void;
  /** The snapshot of every quote, serialized once per hub seq and shared by every subscriber. */
  fullSnapshot: () => Outgoing;
  /** A candle snapshot, serialized once per hub seq and request and shared. */
  candleSnapshot: (
    interval: BarInterval,
    symbols: readonly string[] | undefined,
    fresh: boolean,
  ) => HeldCandleSnapshot;
  /** What the answers to each client address may hold, shared with the HTTP routes. */
  items: ItemBudget;
  /** What each client address may send. */
  reads: ReadBudget;
  /** Forgets a client whose socket closed. */
  released: (connection: Connection, code: number | undefined) => void;
}

/** Who a client is, in its log lines. */
export interface ClientBindings {
  client: number;
  ip: string;
  transport: 'ws' | 'sse';
}

/**
 * One client (WebSocket or SSE): its requests, wired to its subscriptions, its send queue, its
 * conflator while it is slow and its request window.
 */
export class Connection {
  private readonly queue = new SendQueue();
  // Made on the first subscribe, when a client first falls behind, on the first request and on
  // the first log line: most connections need few of them, and idle memory counts.
  private subs: Subscriptions<Connection> | undefined;
  private conflator: Conflator | undefined;
  private window: RequestWindow | undefined;
  private clientLog: Logger | undefined;
  private closed = false;
  /** The flush scheduler's mark (see `Flushable`). */
  flushPending = false;
  private released = false;

  constructor(
    readonly sink: Sink,
    private readonly ctx: ConnectionContext,
    readonly bindings: ClientBindings,
  ) {}

  private get log(): Logger {
    return (this.clientLog ??= this.ctx.log.child(this.bindings));
  }

  private subscriptions(): Subscriptions<Connection> {
    return (this.subs ??= new Subscriptions(this.ctx, this));
  }

  private wants(symbol: string): boolean {
    return this.subs?.interest.wantsQuote(symbol) ?? false;
  }

  /** Takes a hub event the index routed here; `maxRate` may hold it back and merge it. */
  deliver(item: Outgoing): void {
    if (this.subs) this.subs.deliver(item);
  }

  /** Queues a message for this client alone. */
  send(message: ServerMessage): void {
    this.enqueue({ json: JSON.stringify(message) });
  }

  /** Queues an item (shared or private) for the next flush. */
  enqueue(item: Outgoing): void {
    if (this.closed) return;
    const message = item.message;
    if (this.conflator && message?.type === 'quote') {
      this.conflator.add(message);
      // Each new delta re-checks whether the client drained or stayed slow too long.
      this.ctx.markDirty(this);
      return;
    }
    if (this.queue.push(item)) this.ctx.markDirty(this);
  }

  /** Bytes this client holds on the server: socket buffer plus our queue. */
  get waitingBytes(): number {
    return this.sink.bufferedAmount() + this.queue.bytes;
  }

  /** Sends what is queued as one frame, or conflates and closes a client that does not read; adds what it sent to `sent`. */
  flush(frames: FrameCache, sent: FlushTally): void {
    if (this.closed || !this.sink.open) return this.queue.clear();
    const buffered = this.sink.bufferedAmount();
    const { slowBytes, slowCloseBytes, slowCloseMs } = this.ctx.limits;
    if (buffered + this.queue.bytes > slowCloseBytes)
      return this.closeSlow(`more than ${slowCloseBytes} bytes waiting`);
    if (buffered > slowBytes) {
      if (this.subs?.slowPolicy === 'disconnect')
        this.closeSlow('the subscription asked to be closed when slow');
      else if (!this.conflator) this.startConflating();
      else if (this.ctx.scheduler.now() - this.conflator.since > slowCloseMs)
        this.closeSlow(`slow for more than ${slowCloseMs} ms`);
      return;
    }
    if (this.conflator) this.stopConflating();
    this.queue.writeTo(this.sink, frames, sent);
  }

  private startConflating(): void {
    const { metrics, scheduler } = this.ctx;
    const conflator = new Conflator(scheduler.now(), () =>
      metrics.conflatedDeltas.inc({ reason: 'slow_consumer' }),
    );
    this.conflator = conflator;
    this.log.info({ buffered: this.sink.bufferedAmount() }, 'slow consumer: conflating quote deltas');
    this.queue.replace(conflator.absorb(this.queue.queued));
    this.sink.onDrain(() => this.ctx.markDirty(this));
  }

  private stopConflating(): void {
    const conflator = this.conflator!;
    this.conflator = undefined;
    // A symbol unsubscribed while its deltas were held is no longer wanted (as with maxRate gates).
    this.queue.replace(conflator.release(this.queue.queued, (s) => this.wants(s)));
    this.log.info({ conflated: conflator.conflated }, 'slow consumer caught up');
  }

  /** Starts merging this client's quote deltas now (the server's global byte ceiling asks). */
  conflateNow(): void {
    if (!this.closed && !this.conflator) this.startConflating();
  }

  /** Closes with 4008, cutting the client off if it never reads the close. */
  closeSlow(why: string): void {
    this.log.warn({ buffered: this.sink.bufferedAmount(), why }, 'closing slow consumer');
    this.ctx.metrics.slowConsumerCloses.inc();
    this.close(CloseCode.slowConsumer, 'slow consumer: not reading fast enough');
    // The close frame waits behind the backlog; a peer that never reads it is cut off.
    const timer = this.ctx.scheduler.schedule(() => this.sink.terminate(), SLOW_CLOSE_GRACE_MS);
    this.sink.onDrain(() => timer.unsubscribe());
  }

  /** Closes the connection and stops queueing for it. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    // Replies already owed (the pongs and the error before an abuse close) go out before the
    // close frame; a slow consumer's backlog does not, since it cannot take more.
    if (code !== CloseCode.slowConsumer && this.sink.open) this.queue.writeUnshared(this.sink);
    this.dispose();
    this.sink.close(code, reason);
  }

  /** Releases the subscriptions and timers (the socket closed); safe to call twice. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.subs?.dispose();
    this.ctx.reads.release(this.sink);
    this.ctx.index.remove(this);
    this.queue.clear();
    this.conflator = undefined;
  }

  /** Forgets the client once its socket has closed; safe to call twice. */
  release(code?: number): void {
    if (this.released) return;
    this.released = true;
    this.dispose();
    this.ctx.released(this, code);
  }

  /** Handles one frame from the client; a bad one is answered with an error, never thrown. */
  receive(data: Buffer, binary = false): void {
    // Frames a closing connection still delivers are not answered, and hold nothing back.
    if (this.closed) return;
    this.ctx.reads.charge(this.bindings.ip, data.length, this.sink);
    const window = (this.window ??= new RequestWindow(this.ctx.limits));
    const screened = screenRequest({ data, binary }, window, this.ctx.limits, this.ctx.scheduler.now());
    if (screened.ok) return this.handle(screened.request);
    if (screened.quiet) return this.strike();
    this.log.debug({ code: screened.code, reason: screened.message }, 'rejected client request');
    this.fail(screened.code, screened.message, screened.id, screened.retryAfterMs);
  }

  /**
   * Carries out a validated request. `admitted`: its address's item budget was checked for it
   * already (an SSE stream's subscribes, let in together when the stream opened).
   */
  handle(request: ClientRequest, admitted = false): void {
    this.ctx.metrics.requests.inc({ op: request.op });
    switch (request.op) {
      case 'ping':
        return this.send({ type: 'pong', ...withId(request.id) });
      case 'subscribe':
        return this.subscribe(request, admitted);
      case 'unsubscribe':
        return this.subs?.unsubscribe(request);
    }
  }

  /** Answers a subscribe while this client's address has items left, and charges it the answer's. */
  private subscribe(request: SubscribeRequest, admitted: boolean): void {
    const { items } = this.ctx;
    const { ip } = this.bindings;
    if (!admitted && items.retryAfterMs(ip) > 0) {
      const { message, retryAfterMs } = items.refusal(ip);
      return this.fail('rate_limited', message, request.id, retryAfterMs);
    }
    items.charge(ip, this.subscriptions().subscribe(request));
  }

  /** Answers a request with an error and counts it toward the abuse bound. */
  fail(code: ErrorCode, message: string, id?: RequestId, retryAfterMs?: number): void {
    this.ctx.metrics.requestErrors.inc({ code });
    this.send({
      type: 'error',
      ...withId(id),
      code,
      message,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    });
    this.strike();
  }

  private strike(): void {
    const abuse = (this.window ??= new RequestWindow(this.ctx.limits)).strike(this.ctx.scheduler.now());
    if (abuse === undefined) return;
    this.log.warn({ abuse }, 'closing a client that keeps sending bad or excess requests');
    this.ctx.metrics.refused.inc({ reason: 'abuse' });
    this.close(CloseCode.policy, 'too many invalid or excess requests');
  }
}
