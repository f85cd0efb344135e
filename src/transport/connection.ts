import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import { mergeDeltas } from '../diff/merge-deltas.ts';
import { eventJson } from '../hub/event-json.ts';
import type { Hub } from '../hub/hub.ts';
import type { Metrics } from '../metrics.ts';
import {
  CloseCode,
  type ClientRequest,
  type ErrorCode,
  type QuoteMessage,
  type RequestId,
  type ServerMessage,
  type SlowPolicy,
  type SubscribeRequest,
  type UnsubscribeRequest,
} from '../protocol/messages.ts';
import { ConnectionInterest } from './interest.ts';
import type { Limits } from './options.ts';
import { parseJson, symbolsNamed, validateRequest } from './requests.ts';
import { FrameCache, runKey, type Outgoing, type Sink } from './sink.ts';
import type { SubscriberIndex } from './subscriber-index.ts';
import { Throttle } from './throttle.ts';
import { CandleSubscriptions, type CandleIndex } from './candles-channel.ts';

/** A client that stops answering for this long after a slow-consumer close is cut off. */
const SLOW_CLOSE_GRACE_MS = 5000;
/** Symbols one connection may name per second, in multiples of `maxSymbols`. */
const SYMBOL_BUDGET_PER_SECOND = 2;
/** Window over which bad and excess requests add up to a 1008 close. */
const ABUSE_WINDOW_MS = 10_000;

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
  /** Asks the server to flush this connection at the end of the tick. */
  markDirty: (connection: Connection) => void;
  /** The snapshot of every quote, serialized once per hub seq and shared by every subscriber. */
  fullSnapshot: () => Outgoing;
  /** Forgets a client whose socket closed. */
  released: (connection: Connection, code: number | undefined) => void;
}

/** What flushes sent, added up over one tick. */
export interface FlushTally {
  messages: number;
  bytes: number;
}

/** Who a client is, in its log lines. */
export interface ClientBindings {
  client: number;
  ip: string;
  transport: 'ws' | 'sse';
}

const withId = (id: RequestId | undefined) => (id !== undefined ? { id } : {});

/** The id of a request not yet validated, when it has a usable one. */
const requestIdOf = (json: unknown): RequestId | undefined => {
  const id = (json as { id?: unknown } | null)?.id;
  return typeof id === 'number' || (typeof id === 'string' && id.length <= 128) ? id : undefined;
};

/**
 * One client (WebSocket or SSE): its subscriptions, its per-symbol rate gates, and what is
 * queued for it this tick. What is queued in one tick leaves as one frame; a client whose
 * buffer stays full gets its quote deltas conflated, then is closed with 4008.
 */
export class Connection {
  readonly interest = new ConnectionInterest();
  /** Cleared by each ping, set by each pong: a peer still false at the next ping is gone. */
  alive = true;
  private queue: Outgoing[] = [];
  private queuedBytes = 0;
  // While the queue is one contiguous run of this tick's shared items, clients with the same
  // run share one encoded frame, found by key without comparing the items one by one.
  private runFirst = 0;
  private runLast = 0;
  private runShared = false;
  private holdsAlone = false;
  /** Set once any subscription asks for maxRate; until then deliveries skip the rate gates. */
  private rateLimited = false;
  private conflating = false;
  private conflatingSince = 0;
  // Made when a client first falls behind: idle memory per connection counts.
  private conflated: Map<string, QuoteMessage> | undefined;
  private conflatedCount = 0;
  private slowPolicy: SlowPolicy = 'conflate';
  // Made on the first maxRate: most connections never ask, and idle memory per connection counts.
  private throttle: Throttle | undefined;
  private closed = false;
  private released = false;
  // Made on the first candles subscription: most connections never ask.
  private candleSubs: CandleSubscriptions<Connection> | undefined;
  private clientLog: Logger | undefined;
  private requestWindowStart = -Infinity;
  private requestsInWindow = 0;
  private symbolsInWindow = 0;
  private abuseWindowStart = -Infinity;
  private abuse = 0;

  constructor(
    readonly sink: Sink,
    private readonly ctx: ConnectionContext,
    readonly bindings: ClientBindings,
  ) {}

  // The child logger is made on first use: most connections never log, and each costs memory.
  private get log(): Logger {
    return (this.clientLog ??= this.ctx.log.child(this.bindings));
  }

  private gates(): Throttle {
    return (this.throttle ??= new Throttle(
      this.ctx.scheduler,
      (merged) => {
        // A delta held past an unsubscribe is no longer wanted.
        if (this.interest.wantsQuote(merged.symbol)) this.enqueue(toOutgoing(merged));
      },
      () => this.ctx.metrics.conflatedDeltas.inc({ reason: 'max_rate' }),
    ));
  }

  private candles(): CandleSubscriptions<Connection> {
    return (this.candleSubs ??= new CandleSubscriptions({
      member: this,
      hub: this.ctx.hub,
      scheduler: this.ctx.scheduler,
      index: this.ctx.candles,
      send: (m) => this.send(m),
      enqueueEvent: (m) => this.enqueue(toOutgoing(m)),
      onConflate: () => this.ctx.metrics.conflatedDeltas.inc({ reason: 'max_rate' }),
    }));
  }

  /** Takes a hub event the index routed here; `maxRate` may hold it back and merge it. */
  deliver(item: Outgoing): void {
    const message = item.message;
    if (message?.type === 'candle' && this.candleSubs) {
      for (const c of this.candleSubs.deliver(message)) this.enqueue(c === message ? item : toOutgoing(c));
      return;
    }
    if (this.rateLimited && message?.type === 'quote') {
      const out = this.gates().offer(message, this.interest.rateFor(message.symbol));
      if (out === undefined) return;
      if (out !== message) return this.enqueue(toOutgoing(out));
    }
    this.enqueue(item);
  }

  /** Queues a message for this client alone. */
  send(message: ServerMessage): void {
    this.enqueue({ json: JSON.stringify(message) });
  }

  /** Queues an item (shared or private) for the end of the tick. */
  enqueue(item: Outgoing): void {
    if (this.closed) return;
    const message = item.message;
    if (this.conflating && message?.type === 'quote') {
      this.conflate(message);
      // Each new delta re-checks whether the client drained or stayed slow too long.
      this.ctx.markDirty(this);
      return;
    }
    const tick = item.tick;
    if (this.queue.length === 0) {
      this.ctx.markDirty(this);
      this.runShared = tick !== undefined;
      this.runFirst = tick ?? 0;
    } else this.runShared &&= tick === this.runLast + 1;
    this.runLast = tick ?? 0;
    if (item.alone?.startsWith(FULL_SNAPSHOT) && this.holdsAlone) this.coalesceSnapshots();
    if (item.alone !== undefined) this.holdsAlone = true;
    this.queue.push(item);
    this.queuedBytes += item.json.length;
  }

  /** Bytes this client holds on the server: socket buffer plus our queue. */
  get waitingBytes(): number {
    return this.sink.bufferedAmount() + this.queuedBytes;
  }

  /** Sends what is queued as one frame, or conflates and closes a client that does not read; adds what it sent to `sent`. */
  flush(frames: FrameCache, sent: FlushTally): void {
    if (this.closed || !this.sink.open) {
      this.queue = [];
      this.queuedBytes = 0;
      return;
    }
    const buffered = this.sink.bufferedAmount();
    const { slowBytes, slowCloseBytes, slowCloseMs } = this.ctx.limits;
    if (buffered + this.queuedBytes > slowCloseBytes)
      return this.closeSlow(`more than ${slowCloseBytes} bytes waiting`);
    if (buffered > slowBytes) {
      if (this.slowPolicy === 'disconnect') this.closeSlow('the subscription asked to be closed when slow');
      else if (!this.conflating) this.startConflating();
      else if (this.ctx.scheduler.now() - this.conflatingSince > slowCloseMs)
        this.closeSlow(`slow for more than ${slowCloseMs} ms`);
      return;
    }
    if (this.conflating) this.stopConflating();
    if (this.queue.length === 0) return;
    const batch = this.queue;
    const key = this.runShared ? runKey(this.runFirst, batch.length) : undefined;
    this.queue = [];
    this.queuedBytes = 0;
    if (!this.holdsAlone) {
      sent.messages += batch.length;
      sent.bytes += this.sink.write(batch, frames, key);
      return;
    }
    this.holdsAlone = false;
    // A shared large message leaves as its own frame, framed once for every client that gets it;
    // what comes before and after it stays in order, in frames of its own.
    let pending: Outgoing[] = [];
    for (const item of batch) {
      sent.messages += item.count ?? 1;
      if (item.alone === undefined) {
        pending.push(item);
        continue;
      }
      if (pending.length > 0) sent.bytes += this.sink.write(pending, frames, undefined);
      pending = [];
      sent.bytes += this.sink.write([item], frames, item.alone);
    }
    if (pending.length > 0) sent.bytes += this.sink.write(pending, frames, undefined);
  }

  /**
   * A full snapshot about to be queued makes an older one still queued useless, and the quote
   * deltas after it too (the new one holds every symbol at a later seq): a client that keeps
   * resubscribing while not reading gets one snapshot, not one per request.
   */
  private coalesceSnapshots(): void {
    const at = this.queue.findIndex((o) => o.alone?.startsWith(FULL_SNAPSHOT));
    if (at < 0) return;
    const kept = this.queue.filter((o, i) => i < at || (i > at && o.message?.type !== 'quote'));
    this.queue = kept;
    this.queuedBytes = kept.reduce((n, o) => n + o.json.length, 0);
    this.runShared = false;
  }

  private conflate(message: QuoteMessage): void {
    const conflated = (this.conflated ??= new Map());
    const prev = conflated.get(message.symbol);
    conflated.set(message.symbol, prev ? mergeDeltas(prev, message) : message);
    if (prev) {
      this.conflatedCount++;
      this.ctx.metrics.conflatedDeltas.inc({ reason: 'slow_consumer' });
    }
  }

  private startConflating(): void {
    this.conflating = true;
    this.runShared = false;
    this.conflatingSince = this.ctx.scheduler.now();
    this.log.info({ buffered: this.sink.bufferedAmount() }, 'slow consumer: conflating quote deltas');
    const kept: Outgoing[] = [];
    for (const item of this.queue) {
      if (item.message?.type === 'quote') this.conflate(item.message);
      else kept.push(item);
    }
    this.queue = kept;
    this.queuedBytes = kept.reduce((n, o) => n + o.json.length, 0);
    this.sink.onDrain(() => this.ctx.markDirty(this));
  }

  private stopConflating(): void {
    this.conflating = false;
    this.runShared = false;
    // What was held keeps its order; the merged deltas go last, in seq order, so a snapshot
    // queued meanwhile (an older state) can never land after them.
    // A symbol unsubscribed while its deltas were held is no longer wanted (as with maxRate gates).
    const merged = [...(this.conflated?.values() ?? [])]
      .filter((m) => this.interest.wantsQuote(m.symbol))
      .sort((a, b) => a.seq - b.seq)
      .map(toOutgoing);
    const notice: ServerMessage = {
      type: 'notice',
      code: 'slow_consumer',
      policy: 'conflate',
      conflated: this.conflatedCount,
    };
    this.queue = [{ json: JSON.stringify(notice) }, ...this.queue, ...merged];
    this.queuedBytes = this.queue.reduce((n, o) => n + o.json.length, 0);
    this.log.info({ conflated: this.conflatedCount }, 'slow consumer caught up');
    this.conflated = undefined;
    this.conflatedCount = 0;
  }

  /** Starts merging this client's quote deltas now (the server's global byte ceiling asks). */
  conflateNow(): void {
    if (!this.closed && !this.conflating) this.startConflating();
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
    if (code !== CloseCode.slowConsumer && this.queue.length > 0 && this.sink.open)
      this.sink.write(this.queue, UNSHARED, undefined);
    this.dispose();
    this.sink.close(code, reason);
  }

  /** Releases the subscriptions and timers (the socket closed); safe to call twice. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.setQuotes(() => this.interest.removeQuotes(undefined));
    this.setHeadlines(false);
    this.throttle?.dispose();
    this.candleSubs?.dispose();
    this.ctx.index.remove(this);
    this.queue = [];
    this.queuedBytes = 0;
    this.conflated = undefined;
  }

  /** Forgets the client once its socket has closed; safe to call twice. */
  release(code?: number): void {
    if (this.released) return;
    this.released = true;
    this.dispose();
    this.ctx.released(this, code);
  }

  /** Handles one frame from the client; a bad one is answered with an error, never thrown. */
  receive(raw: string, bytes = Buffer.byteLength(raw), binary = false): void {
    const now = this.ctx.scheduler.now();
    if (now - this.requestWindowStart >= 1000) {
      this.requestWindowStart = now;
      this.requestsInWindow = 0;
      this.symbolsInWindow = 0;
    }
    const { maxRequestsPerSecond, maxPayload } = this.ctx.limits;
    if (++this.requestsInWindow > maxRequestsPerSecond) {
      // Told once per second; the rest of that second's excess counts toward a 1008 close.
      if (this.requestsInWindow === maxRequestsPerSecond + 1)
        this.fail(
          'rate_limited',
          `more than ${maxRequestsPerSecond} requests in one second: this and further requests this second are refused`,
        );
      else this.strike();
      return;
    }
    if (bytes > maxPayload) {
      this.fail('payload_too_large', `a request may hold at most ${maxPayload} bytes; this one has ${bytes}`);
      return;
    }
    if (binary) {
      this.fail('bad_request', 'binary frames are not accepted; send JSON text');
      return;
    }
    const json = parseJson(raw);
    if (!json.ok) return this.fail(json.error.code, json.error.message);
    // A work budget beside the request count, charged before validation: the symbols named
    // (validated, matched and indexed one by one) are what a request costs. One request may
    // name what a connection may hold, and all requests of one second twice that: enough to
    // rebuild a whole subscription, not to make the server do it twenty times a second.
    const named = symbolsNamed(json.json);
    const { maxSymbols } = this.ctx.limits;
    if (named > maxSymbols)
      return this.fail(
        'too_many_symbols',
        `a request may name at most ${maxSymbols} symbols; this one names ${named}`,
        requestIdOf(json.json),
      );
    if (this.symbolsInWindow + named > maxSymbols * SYMBOL_BUDGET_PER_SECOND)
      return this.fail(
        'rate_limited',
        `more than ${maxSymbols * SYMBOL_BUDGET_PER_SECOND} symbols named in one second: this request is refused`,
        requestIdOf(json.json),
      );
    this.symbolsInWindow += named;
    const result = validateRequest(json.json);
    if (!result.ok) {
      this.log.debug({ code: result.error.code, reason: result.error.message }, 'rejected client request');
      this.fail(result.error.code, result.error.message, result.error.id);
      return;
    }
    this.handle(result.request);
  }

  /** Carries out a validated request. */
  handle(request: ClientRequest): void {
    switch (request.op) {
      case 'ping':
        return this.send({ type: 'pong', ...withId(request.id) });
      case 'subscribe':
        return this.subscribe(request);
      case 'unsubscribe':
        return this.unsubscribe(request);
    }
  }

  /** Answers a request with an error and counts it toward the abuse bound. */
  private fail(code: ErrorCode, message: string, id?: RequestId): void {
    this.ctx.metrics.requestErrors.inc({ code });
    this.send({ type: 'error', ...withId(id), code, message });
    this.strike();
  }

  private strike(): void {
    const now = this.ctx.scheduler.now();
    if (now - this.abuseWindowStart >= ABUSE_WINDOW_MS) {
      this.abuseWindowStart = now;
      this.abuse = 0;
    }
    if (++this.abuse > this.ctx.limits.maxRequestsPerSecond * 5) {
      this.log.warn({ abuse: this.abuse }, 'closing a client that keeps sending bad or excess requests');
      this.ctx.metrics.refused.inc({ reason: 'abuse' });
      this.close(CloseCode.policy, 'too many invalid or excess requests');
    }
  }

  private subscribe(request: SubscribeRequest): void {
    const { hub, limits } = this.ctx;
    if (request.channel === 'quotes' && request.symbols) {
      const count = this.interest.countAfterAdding(request.symbols);
      if (count > limits.maxSymbols)
        return this.fail(
          'too_many_symbols',
          `this would hold ${count} symbols; a connection may name at most ${limits.maxSymbols}: ` +
            'subscribe to all (omit symbols) or a prefix pattern like OGDC* instead',
          request.id,
        );
    }
    if (request.slow) this.slowPolicy = request.slow;
    if (request.channel === 'candles' && request.interval)
      return this.candles().subscribe({ ...request, interval: request.interval }, (recovered) =>
        this.send({ type: 'subscribed', ...withId(request.id), ...subscribedFields(request), recovered }),
      );
    if (request.maxRate !== undefined) this.rateLimited = true;
    const requested = new ConnectionInterest();
    if (request.channel === 'quotes') {
      requested.addQuotes(request.symbols);
      this.setQuotes(() => this.interest.addQuotes(request.symbols, request.maxRate));
    } else {
      requested.wantsHeadlines = true;
      this.setHeadlines(true);
    }
    const resumed = request.since ? hub.resume(request.since, requested) : { recovered: false as const };
    this.send({
      type: 'subscribed',
      ...withId(request.id),
      channel: request.channel,
      ...(request.symbols && { symbols: request.symbols }),
      recovered: resumed.recovered,
    });
    if (resumed.recovered) for (const m of resumed.messages) this.enqueue(toOutgoing(m));
    else if (request.channel === 'quotes')
      this.enqueue(
        request.symbols
          ? toOutgoing({
              type: 'snapshot',
              channel: 'quotes',
              seq: hub.seq,
              quotes: hub.snapshot((s) => requested.wantsQuote(s)),
            })
          : this.ctx.fullSnapshot(),
      );
    else
      this.send({ type: 'snapshot', channel: 'headlines', seq: hub.seq, headlines: hub.latestHeadlines() });
  }

  private unsubscribe(request: UnsubscribeRequest): void {
    if (request.channel === 'candles') return this.candleSubs?.unsubscribe(request);
    if (request.channel === 'quotes') {
      this.setQuotes(() => this.interest.removeQuotes(request.symbols));
      if (request.symbols) for (const s of request.symbols) this.throttle?.forget(s);
      else this.throttle?.dispose();
    } else this.setHeadlines(false);
  }

  /** Applies a change to the quote interest and keeps the index and the gauge in step. */
  private setQuotes(change: () => void): void {
    const had = this.interest.quoteKeys().length > 0;
    change();
    const keys = this.interest.quoteKeys();
    this.ctx.index.setQuoteKeys(this, keys);
    if (had !== keys.length > 0) this.ctx.metrics.subscriptions.inc({ channel: 'quotes' }, had ? -1 : 1);
  }

  private setHeadlines(wanted: boolean): void {
    if (this.interest.wantsHeadlines === wanted) return;
    this.interest.wantsHeadlines = wanted;
    this.ctx.index.setHeadlines(this, wanted);
    this.ctx.metrics.subscriptions.inc({ channel: 'headlines' }, wanted ? 1 : -1);
  }
}

/** The `alone` key prefix of the full quotes snapshot (see the server's `fullSnapshot`). */
export const FULL_SNAPSHOT = 'snapshot:';

/** Frames written outside a fan-out tick share nothing. */
const UNSHARED = new FrameCache();

/** A message serialized for sending; hub events keep their object for conflation. */
const toOutgoing = (message: ServerMessage): Outgoing =>
  message.type === 'quote' || message.type === 'headline' || message.type === 'candle'
    ? { json: eventJson(message), message }
    : { json: JSON.stringify(message) };

/** The request's channel, symbols and interval, echoed in `subscribed`. */
const subscribedFields = (request: SubscribeRequest) => ({
  channel: request.channel,
  ...(request.symbols && { symbols: request.symbols }),
  ...(request.interval && { interval: request.interval }),
});
