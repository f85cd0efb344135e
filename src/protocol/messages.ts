/**
 * The wire contract (protocol.md, version 1) as TypeScript types: the one source of truth
 * for the server, the client library and the widget. Types only, so the browser bundle
 * pulls in no runtime code from here.
 */

export const PROTOCOL_VERSION = 1;

export type QuoteKind = 'stock' | 'index';
export type Direction = 'up' | 'down' | 'unchanged';

/** The values a ticker line states. */
export interface LineValues {
  kind: QuoteKind;
  price: number;
  change: number;
  changePercent: number;
  direction: Direction;
}

/**
 * The trading day's values (the day in Asia/Karachi on the feed's clock): the day's first,
 * highest and lowest price, and the previous close, exactly `price − change` in minor units.
 */
export interface DayValues {
  open: number;
  high: number;
  low: number;
  prevClose: number;
}

/** The values of a quote that the diff compares field by field. */
export interface QuoteValues extends LineValues, DayValues {}

/** The names of the diffed fields; a delta carries a subset of these. */
export type QuoteField = keyof QuoteValues;

/** A quote in full form, as in snapshots and `/api/snapshot`. */
export interface Quote extends QuoteValues {
  symbol: string;
  v: number;
  ts: string;
}

/** A quote update on the wire: only the fields whose value changed since version `v - 1`. */
export interface QuoteMessage extends Partial<QuoteValues> {
  type: 'quote';
  seq: number;
  symbol: string;
  v: number;
  ts: string;
}

/** A news story. `id` is stable for the same story. */
export interface Headline {
  id: string;
  dateline: string;
  title: string;
  subheads?: string[];
  text: string;
  ts: string;
}

export interface HeadlineMessage extends Headline {
  type: 'headline';
  seq: number;
}

/** An event that the hub stamps with `seq`: what history holds and resume replays. */
export type HubMessage = QuoteMessage | HeadlineMessage | CandleMessage;

export type Channel = 'quotes' | 'headlines' | 'candles';
export type SourceState = 'running' | 'stale' | 'ended';
export type MarketState = 'pre-open' | 'open' | 'closed';
export type SlowPolicy = 'conflate' | 'disconnect';

export interface Position {
  epoch: string;
  seq: number;
}

export interface HelloMessage {
  type: 'hello';
  version: number;
  epoch: string;
  seq: number;
  heartbeatMs: number;
}

export interface SubscribedMessage {
  type: 'subscribed';
  id?: RequestId;
  channel: Channel;
  symbols?: string[];
  /** The bar interval of a candles subscription. */
  interval?: BarInterval;
  recovered: boolean;
}

export interface QuoteSnapshotMessage {
  type: 'snapshot';
  channel: 'quotes';
  seq: number;
  quotes: Quote[];
}

export interface HeadlineSnapshotMessage {
  type: 'snapshot';
  channel: 'headlines';
  seq: number;
  headlines: Headline[];
}

export type SnapshotMessage = QuoteSnapshotMessage | HeadlineSnapshotMessage | CandleSnapshotMessage;

export interface HeartbeatMessage {
  type: 'heartbeat';
  seq: number;
  ts: string;
}

export interface StatusMessage {
  type: 'status';
  source: string;
  state: SourceState;
  market: MarketState;
  asOf: string;
}

export interface NoticeMessage {
  type: 'notice';
  code: string;
  policy?: SlowPolicy;
  conflated?: number;
  message?: string;
}

export interface PongMessage {
  type: 'pong';
  id?: RequestId;
}

export type ErrorCode =
  | 'bad_request'
  | 'unknown_op'
  | 'unknown_channel'
  | 'too_many_symbols'
  | 'rate_limited'
  | 'payload_too_large';

export interface ErrorMessage {
  type: 'error';
  id?: RequestId;
  code: ErrorCode;
  message: string;
}

export type ServerMessage =
  | HelloMessage
  | SubscribedMessage
  | SnapshotMessage
  | QuoteMessage
  | HeadlineMessage
  | CandleMessage
  | HeartbeatMessage
  | StatusMessage
  | NoticeMessage
  | PongMessage
  | ErrorMessage;

export type RequestId = string | number;

export interface SubscribeRequest {
  op: 'subscribe';
  id?: RequestId;
  channel: Channel;
  symbols?: string[];
  maxRate?: number;
  since?: Position;
  slow?: SlowPolicy;
  /** The bar interval of a candles subscription. */
  interval?: BarInterval;
}

export interface UnsubscribeRequest {
  op: 'unsubscribe';
  id?: RequestId;
  channel: Channel;
  symbols?: string[];
  /** Candles: only this interval's subscription (all intervals when absent). */
  interval?: BarInterval;
}

export interface PingRequest {
  op: 'ping';
  id?: RequestId;
}

export type ClientRequest = SubscribeRequest | UnsubscribeRequest | PingRequest;

// ---- Candles: intraday OHLC bars (channel `candles`, `GET /api/candles`) ----

/** The bar intervals, aligned in Asia/Karachi; a `1d` bar is the trading day. */
export const BAR_INTERVALS = ['1m', '5m', '15m', '1h', '1d'] as const;
export type BarInterval = (typeof BAR_INTERVALS)[number];

/** An OHLC bar of one symbol on the feed's clock; `updates` counts the quote changes in it. */
export interface Bar {
  symbol: string;
  interval: BarInterval;
  /** ISO instant the bar starts at. */
  start: string;
  open: number;
  high: number;
  low: number;
  close: number;
  updates: number;
  /** Set once the feed's clock has passed the bar's end: the bar will not change again. */
  closed: boolean;
}

/** A bar that changed or closed; the whole bar, so a later one replaces an earlier one. */
export interface CandleMessage extends Bar {
  type: 'candle';
  seq: number;
}

export interface CandleSnapshotMessage {
  type: 'snapshot';
  channel: 'candles';
  interval: BarInterval;
  seq: number;
  candles: Bar[];
}

/** `GET /api/candles`: bars ordered by symbol, then start. */
export interface CandlesResponse {
  epoch: string;
  seq: number;
  interval: BarInterval;
  candles: Bar[];
}

/** Close codes the server uses beyond the standard ones. */
export const CloseCode = {
  goingAway: 1001,
  policy: 1008,
  tooLarge: 1009,
  /** The server's state was replaced (an edge resynced): reconnect and resume. */
  serviceRestart: 1012,
  slowConsumer: 4008,
} as const;
