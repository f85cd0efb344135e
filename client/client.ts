import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import {
  anyCovers,
  CloseCode,
  intervalProblem,
  patternCovers,
  validateServerMessage,
  type Bar,
  type BarInterval,
  type Channel,
  type Headline,
  type NoticeMessage,
  type Position,
  type Quote,
  type QuoteField,
  type QuoteMessage,
  type RequestId,
  type ServerMessage,
  type SlowPolicy,
  type SnapshotMessage,
  type StatusMessage,
  type SubscribeRequest,
  type SubscribedMessage,
} from './protocol/index.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { Emitter } from './emitter.ts';
import { QuoteStore } from './quote-store.ts';
import { CandleStore } from './candle-store.ts';

/**
 * The connection's one state; it changes only in `setState()`. `failed`: the server refused the
 * client (close 1008) and it stopped trying; `refusal` says why.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'failed' | 'closed';

/** The `state` event. */
export interface StateChange {
  newState: ConnectionState;
  oldState: ConnectionState;
}

/** The `quote` event: the whole quote after a delta, and which fields the delta changed. */
export interface QuoteUpdate {
  quote: Quote;
  previous: Quote | undefined;
  changed: QuoteField[];
}

/** A problem the client met: a server `error` reply, or a frame or state it could not use. */
export interface ClientError {
  code: string;
  message: string;
  id?: RequestId;
  /**
   * With `rate_limited`: in how many ms the server would answer the request; the client sends a
   * refused subscribe again by itself then.
   */
  retryAfterMs?: number;
}

/** Events a client emits; `on(type, listener)` returns the function that removes the listener. */
export interface ClientEvents {
  state: StateChange;
  /** The store (or the headline list) was filled from a snapshot. */
  snapshot: { channel: Channel; replaced: boolean };
  quote: QuoteUpdate;
  /** History could not be resumed: the store was replaced from a fresh snapshot. */
  resync: { epoch: string; quotes: Quote[] };
  headline: Headline;
  /** A bar changed or closed (candles subscriptions); `candles` holds it already. */
  candle: Bar;
  status: StatusMessage;
  notice: NoticeMessage;
  error: ClientError;
}

/**
 * The part of the WebSocket API the client uses: the browser's `WebSocket` and the `ws`
 * package's both fit. Handlers take `never` so that both classes' differently typed event
 * parameters are accepted.
 */
export interface WebSocketLike {
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A token for the next connection (sync or async); undefined connects without one. */
export type TokenSource = () => string | undefined | Promise<string | undefined>;

/** A WebSocket constructor, e.g. `globalThis.WebSocket` or `import WebSocket from 'ws'`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Per-subscription options, as in the protocol's subscribe request. */
export interface SubscribeOptions {
  maxRate?: number;
  slow?: SlowPolicy;
  /** The bar interval of a candles subscription. */
  interval?: BarInterval;
}

/** Options of `connect`. */
export interface ClientOptions {
  /** Required in Node 20, which has no global WebSocket: pass the `ws` package's class. */
  WebSocket?: WebSocketConstructor;
  backoff?: Partial<BackoffOptions>;
  /** Assumed heartbeat interval until the server's `hello` says (ms); default 15000. */
  heartbeatMs?: number;
  /** How many recent headlines `client.headlines` keeps; default 50. */
  headlineCount?: number;
  /** Jitter source, in [0, 1). */
  random?: () => number;
  /** Where the reconnect and heartbeat timers run; tests pass a virtual-time scheduler. */
  scheduler?: SchedulerLike;
  /**
   * Asked for a fresh token before each connect and reconnect; it goes as `?token=` (browsers
   * cannot set headers on a WebSocket). With it, a refused client tries again a few times.
   */
  getToken?: TokenSource;
}

/**
 * How much later than the server's `retryAfterMs` a refused subscribe goes again, at most, as a
 * fraction of it.
 */
const RETRY_SPREAD = 0.2;
/**
 * The longest a refused subscribe waits, whatever the server says: timers past 2^31 ms fire at
 * once, so a huge `retryAfterMs` would otherwise resend in a loop.
 */
const MAX_RETRY_MS = 5 * 60_000;
/**
 * Refusals in a row after which a client with `getToken` stops: a fresh token fixes an expired
 * one at the first retry; more in a row mean the token source cannot help.
 */
export const MAX_REFUSALS = 3;
/** How long `getToken` may take before the attempt counts as failed and is retried with backoff. */
export const TOKEN_TIMEOUT_MS = 30_000;

const withToken = (url: string, token: string | undefined): string => {
  if (token === undefined) return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.toString();
};

/** How the next snapshot of a channel is applied, decided by the `subscribed` before it. */
type SnapshotMode = 'merge' | 'replace' | 'resync';
/** Why a subscribe was sent: a call of `subscribe`, a resume after `hello`, or a resync. */
type SubscribeKind = 'add' | 'resume' | 'resync';

interface Interest {
  allQuotes: boolean;
  symbols: Set<string>;
  quoteOptions: SubscribeOptions;
  headlines: boolean;
  /** Candle subscriptions by interval: their symbols (undefined: all) and options. */
  candles: Map<BarInterval, { symbols: readonly string[] | undefined; options: SubscribeOptions }>;
}

/**
 * A tickstream connection that never silently loses state: it reconnects with full-jitter
 * backoff, resumes from the last event it applied, and resyncs from a snapshot when the
 * server cannot fill the gap. Read whole quotes from `quotes`; listen with `on()`.
 */
export class TickstreamClient extends Emitter<ClientEvents> {
  private currentState: ConnectionState = 'connecting';
  /** Whole quotes, kept exact from snapshots and deltas. */
  readonly quotes = new QuoteStore();
  /** The latest headlines, newest last. */
  headlines: Headline[] = [];
  /** Bars of the candles subscriptions, kept from their snapshots and candle updates. */
  readonly candles = new CandleStore();
  /** The latest source and market status, once the server has sent one. */
  status: StatusMessage | undefined;

  private readonly WebSocketCtor: WebSocketConstructor;
  private readonly backoff: BackoffOptions;
  private readonly scheduler: SchedulerLike;
  private readonly random: () => number;
  private readonly headlineCount: number;
  private readonly getToken: TokenSource | undefined;
  private refusals = 0;
  private refusalReason: string | undefined;
  private heartbeatMs: number;
  private socket: WebSocketLike | undefined;
  private epoch: string | undefined;
  private lastPosition: Position | undefined;
  private attempt = 0;
  private reconnectTimer: Subscription | undefined;
  private watchdog: Subscription | undefined;
  private lastMessageAt = 0;
  private nextId = 1;
  /** Subscribes sent and not yet answered (or refused for now and waiting to go again). */
  private readonly pending = new Map<RequestId, { kind: SubscribeKind; request: SubscribeRequest }>();
  /** Refused subscribes waiting for the time the server named. */
  private readonly retries = new Set<Subscription>();
  private readonly snapshotMode: Partial<Record<Channel, SnapshotMode>> = {};
  /**
   * Channels asked for while no snapshot of them could arrive (subscribed while down, or still
   * unanswered at a drop): a resume sends only what changed since, so these go without `since`.
   */
  private readonly unsettled = new Set<Channel>();
  private readonly interest: Interest = {
    allQuotes: false,
    symbols: new Set(),
    quoteOptions: {},
    headlines: false,
    candles: new Map(),
  };

  constructor(
    readonly url: string,
    options: ClientOptions = {},
  ) {
    super();
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor)
      throw new TypeError(
        'no WebSocket implementation: pass options.WebSocket (in Node: import WebSocket from "ws")',
      );
    this.WebSocketCtor = Ctor;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.random = options.random ?? Math.random;
    this.headlineCount = options.headlineCount ?? 50;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.getToken = options.getToken;
    // Opened on the next microtask, so listeners added right after connect() see every event.
    queueMicrotask(() => {
      if (this.currentState !== 'closed') void this.open();
    });
  }

  /**
   * `connecting` until the first `hello`, `open`, `reconnecting` after a drop, `failed` when the
   * server refused it for good, `closed` by `close()`.
   */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** Why the server refused the client (its close reason), once the state is `failed`. */
  get refusal(): string | undefined {
    return this.refusalReason;
  }

  /** The epoch and seq of the last event applied: where a resume starts. */
  get position(): Position | undefined {
    return this.lastPosition;
  }

  /**
   * Subscribes to a channel: quotes of `symbols` (all symbols, now and later, when omitted) or
   * headlines. Kept across reconnects. Calls made before the connection opens are sent on open.
   */
  subscribe(channel: Channel, symbols?: readonly string[], options: SubscribeOptions = {}): void {
    // The server would refuse it: say so now, and keep nothing to send again on reconnects.
    const problem = intervalProblem({ op: 'subscribe', channel, ...options });
    if (problem !== undefined) return void this.emit('error', { code: 'bad_request', message: problem });
    if (channel === 'quotes') {
      if (symbols === undefined) this.interest.allQuotes = true;
      else for (const s of symbols) this.interest.symbols.add(s);
      this.interest.quoteOptions = options;
    } else if (channel === 'candles') this.holdCandles(options.interval!, symbols, options);
    else this.interest.headlines = true;
    if (this.currentState === 'open')
      this.sendSubscribe(
        { op: 'subscribe', channel, ...(symbols && { symbols: [...symbols] }), ...options },
        'add',
      );
    // Sent on open instead, where a resume would give it no snapshot: it goes without `since`.
    else this.unsettled.add(channel);
  }

  /**
   * Ends a subscription (or some of its symbols) and forgets what it held. Candles: of
   * `options.interval`, or of every interval when none is named, as the server reads it.
   */
  unsubscribe(channel: Channel, symbols?: readonly string[], options: { interval?: BarInterval } = {}): void {
    if (channel === 'quotes') {
      if (symbols === undefined) {
        this.interest.allQuotes = false;
        this.interest.symbols.clear();
        this.quotes.delete();
      } else {
        for (const s of symbols) this.interest.symbols.delete(s);
        // Only what no remaining subscription covers is forgotten: the server keeps sending the
        // rest (all symbols, or a pattern such as OGDC* over an unsubscribed OGDC).
        const kept = this.interest.allQuotes ? undefined : [...this.interest.symbols];
        this.quotes.delete(
          this.quotes
            .all()
            .map((q) => q.symbol)
            .filter((s) => !anyCovers(kept, s)),
        );
      }
    } else if (channel === 'candles') this.unsubscribeCandles(symbols, options.interval);
    else {
      this.interest.headlines = false;
      this.headlines = [];
    }
    const { interval } = options;
    if (this.currentState === 'open')
      this.send({
        op: 'unsubscribe',
        channel,
        ...(symbols && { symbols: [...symbols] }),
        ...(channel === 'candles' && interval && { interval }),
      });
  }

  /** Keeps a candles subscription for reconnects; the server merges them, so this does too. */
  private holdCandles(
    interval: BarInterval,
    symbols: readonly string[] | undefined,
    options: SubscribeOptions,
  ) {
    const held = this.interest.candles.get(interval);
    const all = !symbols || (held !== undefined && !held.symbols);
    this.interest.candles.set(interval, {
      symbols: all ? undefined : [...new Set([...(held?.symbols ?? []), ...symbols])],
      options,
    });
  }

  /** Removes candle symbols (or whole intervals) as the server does, keeping what still applies. */
  private unsubscribeCandles(symbols: readonly string[] | undefined, only: BarInterval | undefined): void {
    for (const [interval, held] of [...this.interest.candles]) {
      if (only !== undefined && only !== interval) continue;
      // A subscription to every symbol goes on when names are taken off it, on the server too.
      const left = symbols && held.symbols?.filter((s) => !symbols.includes(s));
      if (symbols === undefined || left?.length === 0) {
        this.interest.candles.delete(interval);
        this.candles.clear(interval);
      } else if (left) {
        this.interest.candles.set(interval, { ...held, symbols: left });
        this.candles.forget(interval, (s) => anyCovers(left, s));
      }
    }
  }

  /** Closes the connection for good and clears every timer and listener; safe to call twice. */
  close(): void {
    if (this.currentState === 'closed') return;
    this.setState('closed');
    this.clearTimers();
    this.dropSocket();
    this.removeAllListeners();
  }

  private setState(newState: ConnectionState): void {
    const oldState = this.currentState;
    if (newState === oldState) return;
    this.currentState = newState;
    this.emit('state', { newState, oldState });
  }

  private async open(): Promise<void> {
    let token: string | undefined;
    if (this.getToken) {
      try {
        token = await this.tokenInTime();
      } catch (err) {
        if (this.currentState === 'closed') return;
        this.emit('error', {
          code: 'token_unavailable',
          message: `getToken failed: ${(err as Error).message}`,
        });
        return this.disconnected();
      }
      // Closed while the token was on its way.
      if (this.currentState === 'closed') return;
    }
    let socket: WebSocketLike;
    try {
      socket = new this.WebSocketCtor(withToken(this.url, token));
    } catch (err) {
      // A URL the WebSocket constructor rejects will never work: report it and stop.
      this.emit('error', { code: 'bad_url', message: (err as Error).message });
      this.close();
      return;
    }
    this.socket = socket;
    socket.onmessage = ((event: { data: unknown }) => this.receive(event.data)) as (e: never) => void;
    socket.onclose = ((event: { code?: number; reason?: string }) => this.disconnected(event)) as (
      e: never,
    ) => void;
    // `ws` throws an 'error' event nobody listens to; the close that follows is what we act on.
    socket.onerror = () => {};
    this.lastMessageAt = this.scheduler.now();
    this.armWatchdog();
  }

  private disconnected(closed?: { code?: number; reason?: string }): void {
    this.dropSocket();
    if (this.currentState === 'closed') return;
    // A policy close (origin, token, abuse, an expired token) holds; any other, 1013 for a full
    // server included, is a drop to reconnect from.
    if (closed?.code === CloseCode.policy) {
      const reason = closed.reason || 'refused by the server';
      this.emit('error', { code: 'refused', message: reason });
      // The same request would be refused again; only a new token can change the answer.
      if (!this.getToken || ++this.refusals >= MAX_REFUSALS) return this.fail(reason);
    }
    this.setState('reconnecting');
    this.reconnectTimer?.unsubscribe();
    const delay = backoffDelay(this.attempt++, this.backoff, this.random);
    this.reconnectTimer = this.scheduler.schedule(() => {
      this.reconnectTimer = undefined;
      void this.open();
    }, delay);
  }

  /**
   * The token `getToken` gives, or a failure once it has taken `TOKEN_TIMEOUT_MS`: a token
   * source that never answers would otherwise hold the client in `reconnecting` with no timer.
   */
  private tokenInTime(): Promise<string | undefined> {
    return new Promise<string | undefined>((resolve, reject) => {
      const timeout = this.scheduler.schedule(
        () => reject(new Error(`no token within ${TOKEN_TIMEOUT_MS / 1000} s`)),
        TOKEN_TIMEOUT_MS,
      );
      Promise.resolve()
        .then(() => this.getToken!())
        .then(resolve, reject)
        .finally(() => timeout.unsubscribe());
    });
  }

  /** Stops for good after a refusal; listeners stay, so the page can show why. */
  private fail(reason: string): void {
    this.refusalReason = reason;
    this.clearTimers();
    this.setState('failed');
  }

  /** Detaches and closes the socket without waiting: a dead peer may never answer a close. */
  private dropSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.watchdog?.unsubscribe();
    this.watchdog = undefined;
    // A reconnect subscribes to everything again: nothing sent on this socket goes again.
    for (const retry of this.retries) retry.unsubscribe();
    this.retries.clear();
    for (const { request } of this.pending.values()) this.unsettled.add(request.channel);
    // A snapshot still owed will not come on this socket.
    for (const channel of Object.keys(this.snapshotMode) as Channel[]) {
      this.unsettled.add(channel);
      delete this.snapshotMode[channel];
    }
    this.pending.clear();
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    const terminate = (socket as { terminate?: () => void }).terminate;
    try {
      if (terminate) terminate.call(socket);
      else socket.close(1000, 'client closing');
    } catch {
      // Closing a socket that never opened throws in some implementations; it is gone either way.
    }
  }

  private clearTimers(): void {
    this.reconnectTimer?.unsubscribe();
    this.reconnectTimer = undefined;
    this.watchdog?.unsubscribe();
    this.watchdog = undefined;
  }

  /**
   * No message within two heartbeats means the connection is dead even if no close came.
   * Messages only stamp a time; the one timer re-arms itself for what is left, so a busy
   * feed does not cost a timer per message.
   */
  private armWatchdog(delay = 2 * this.heartbeatMs): void {
    this.watchdog?.unsubscribe();
    this.watchdog = this.scheduler.schedule(() => {
      this.watchdog = undefined;
      const left = this.lastMessageAt + 2 * this.heartbeatMs - this.scheduler.now();
      if (left > 0) return this.armWatchdog(left);
      this.emit('error', {
        code: 'heartbeat_timeout',
        message: `no message from the server in ${2 * this.heartbeatMs} ms; reconnecting`,
      });
      this.disconnected();
    }, delay);
  }

  private send(request: object): void {
    try {
      this.socket?.send(JSON.stringify(request));
    } catch (err) {
      this.emit('error', { code: 'send_failed', message: (err as Error).message });
    }
  }

  private sendSubscribe(request: SubscribeRequest, kind: SubscribeKind): void {
    const id = this.nextId++;
    this.pending.set(id, { kind, request });
    this.send({ ...request, id });
  }

  /** After `hello`: subscribe again to everything, resuming from the last event applied. */
  private resubscribe(): void {
    const since = this.lastPosition && { since: this.lastPosition };
    const requests = [
      this.channelRequest('quotes'),
      this.channelRequest('headlines'),
      ...[...this.interest.candles.keys()].map((interval) => this.channelRequest('candles', interval)),
    ];
    for (const request of requests)
      if (request)
        this.sendSubscribe({ ...request, ...(!this.unsettled.has(request.channel) && since) }, 'resume');
    this.unsettled.clear();
  }

  /** The subscribe for one channel (and interval) as the interest stands; undefined when none is wanted. */
  private channelRequest(channel: Channel, interval?: BarInterval): SubscribeRequest | undefined {
    const { allQuotes, symbols, quoteOptions, headlines, candles } = this.interest;
    if (channel === 'quotes')
      return allQuotes || symbols.size > 0
        ? { op: 'subscribe', channel, ...(!allQuotes && { symbols: [...symbols] }), ...quoteOptions }
        : undefined;
    if (channel === 'headlines') return headlines ? { op: 'subscribe', channel } : undefined;
    const wanted = interval && candles.get(interval);
    return wanted
      ? {
          op: 'subscribe',
          channel,
          ...(wanted.symbols && { symbols: [...wanted.symbols] }),
          ...wanted.options,
        }
      : undefined;
  }

  /**
   * A subscribe refused for now (`rate_limited` with `retryAfterMs`) goes again once the server
   * said it would be answered, a little later at random so that many clients refused together
   * do not all come back at once: as the interest then stands, from the same position.
   */
  private retryRefused(error: ClientError): void {
    const sent = error.id === undefined ? undefined : this.pending.get(error.id);
    if (error.code !== 'rate_limited' || error.retryAfterMs === undefined || !sent) return;
    const { kind, request } = sent;
    const timer = this.scheduler.schedule(
      () => {
        this.retries.delete(timer);
        this.pending.delete(error.id!);
        const again = this.channelRequest(request.channel, request.interval);
        if (again) this.sendSubscribe({ ...again, ...(request.since && { since: request.since }) }, kind);
      },
      Math.min(error.retryAfterMs, MAX_RETRY_MS) * (1 + RETRY_SPREAD * this.random()),
    );
    this.retries.add(timer);
  }

  private receive(data: unknown): void {
    this.lastMessageAt = this.scheduler.now();
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(data));
    } catch {
      this.emit('error', { code: 'bad_frame', message: 'the server sent a frame that is not JSON' });
      return;
    }
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
      const checked = validateServerMessage(message);
      // Unknown types are skipped: the protocol lets the server add message types.
      if (checked.kind === 'valid') this.handle(checked.message);
      else if (checked.kind === 'invalid') this.invalid(checked.type, checked.reason);
      if (this.socket === undefined) return;
    }
  }

  /** A message that breaks the protocol is not applied; a bad quote leaves the store unsure, so it resyncs. */
  private invalid(type: string | undefined, reason: string): void {
    this.emit('error', { code: 'bad_message', message: `the server sent an invalid message: ${reason}` });
    if (type === 'quote') this.resync();
  }

  private handle(message: ServerMessage): void {
    switch (message.type) {
      case 'hello':
        this.epoch = message.epoch;
        this.heartbeatMs = message.heartbeatMs;
        this.attempt = 0;
        this.refusals = 0;
        this.armWatchdog();
        this.setState('open');
        return this.resubscribe();
      case 'subscribed':
        return this.subscribed(message);
      case 'snapshot':
        return this.snapshot(message);
      case 'quote':
        return this.quote(message);
      case 'candle': {
        // Sent before the server read our unsubscribe: the protocol says to drop it.
        if (!this.wantsCandle(message.interval, message.symbol)) return;
        const { type: _type, seq, ...bar } = message;
        this.advance(seq);
        this.candles.apply(bar);
        return this.emit('candle', bar);
      }
      case 'headline': {
        // Sent before the server read our unsubscribe: the protocol says to drop it.
        if (!this.interest.headlines) return;
        const { type: _type, seq, ...headline } = message;
        this.advance(seq);
        this.headlines = [...this.headlines, headline].slice(-this.headlineCount);
        return this.emit('headline', headline);
      }
      case 'status':
        this.status = message;
        return this.emit('status', message);
      case 'notice':
        return this.emit('notice', message);
      case 'error': {
        const { type: _type, ...error } = message;
        this.retryRefused(error);
        return this.emit('error', error);
      }
    }
  }

  private subscribed(message: SubscribedMessage): void {
    const kind = message.id === undefined ? undefined : this.pending.get(message.id)?.kind;
    if (message.id !== undefined) this.pending.delete(message.id);
    if (message.recovered) return;
    // A resume that did not recover means our state may be missing events: start over.
    const mode: SnapshotMode =
      kind === 'resync' || (kind === 'resume' && this.lastPosition !== undefined)
        ? 'resync'
        : kind === 'resume'
          ? 'replace'
          : 'merge';
    this.snapshotMode[message.channel] = mode;
  }

  private snapshot(message: SnapshotMessage): void {
    const mode = this.snapshotMode[message.channel] ?? 'merge';
    delete this.snapshotMode[message.channel];
    if (message.channel === 'quotes') {
      const quotes = message.quotes.filter((q) => this.wantsQuote(q.symbol));
      if (mode === 'merge') this.quotes.merge(quotes);
      else this.quotes.replace(quotes);
    } else if (message.channel === 'headlines') {
      if (this.interest.headlines) this.headlines = message.headlines.slice(-this.headlineCount);
    } else {
      if (mode !== 'merge') this.candles.clear(message.interval);
      for (const bar of message.candles)
        if (this.wantsCandle(bar.interval, bar.symbol)) this.candles.apply(bar);
    }
    // A candle snapshot may be one the server shared from a moment before (the candles since
    // follow it): it never takes the position back past events already taken.
    if (message.channel === 'candles') this.advance(message.seq);
    else if (this.epoch !== undefined) this.lastPosition = { epoch: this.epoch, seq: message.seq };
    this.emit('snapshot', { channel: message.channel, replaced: mode !== 'merge' });
    if (mode === 'resync' && message.channel === 'quotes' && this.epoch !== undefined)
      this.emit('resync', { epoch: this.epoch, quotes: this.quotes.all() });
  }

  private quote(message: QuoteMessage): void {
    // Sent before the server read our unsubscribe: the protocol says to drop it.
    if (!this.wantsQuote(message.symbol)) return;
    const result = this.quotes.apply(message);
    if (result.type === 'gap') {
      this.emit('error', {
        code: 'gap',
        message: `a partial update for ${message.symbol}, which this client holds no quote for; resyncing`,
      });
      return this.resync();
    }
    this.advance(message.seq);
    if (result.type === 'applied')
      this.emit('quote', { quote: result.quote, previous: result.previous, changed: result.changed });
  }

  /** Whether the quotes subscriptions, as they now stand, cover `symbol`. */
  private wantsQuote(symbol: string): boolean {
    const { allQuotes, symbols } = this.interest;
    if (allQuotes || symbols.has(symbol)) return true;
    // Every quote passes here: walk the set rather than copy it into a list.
    for (const pattern of symbols) if (patternCovers(pattern, symbol)) return true;
    return false;
  }

  /** Whether a candles subscription, as it now stands, covers `symbol` at `interval`. */
  private wantsCandle(interval: BarInterval, symbol: string): boolean {
    const held = this.interest.candles.get(interval);
    return held !== undefined && anyCovers(held.symbols, symbol);
  }

  /** Asks for a fresh quotes snapshot that replaces the store. */
  private resync(): void {
    // One resync at a time: more gaps before its snapshot arrives are covered by it.
    if ([...this.pending.values()].some((p) => p.kind === 'resync')) return;
    const request = this.channelRequest('quotes');
    if (request) this.sendSubscribe(request, 'resync');
  }

  private advance(seq: number): void {
    if (this.epoch === undefined) return;
    const last = this.lastPosition;
    if (!last || last.epoch !== this.epoch || seq > last.seq) this.lastPosition = { epoch: this.epoch, seq };
  }
}

/**
 * Opens a tickstream connection.
 * @example
 * const client = connect('ws://localhost:8080/ws', { WebSocket }); // `ws` in Node
 * client.subscribe('quotes', ['HBL', 'KSE100']);
 * client.on('quote', ({ quote }) => console.log(quote.symbol, quote.price));
 */
export const connect = (url: string, options?: ClientOptions): TickstreamClient =>
  new TickstreamClient(url, options);
