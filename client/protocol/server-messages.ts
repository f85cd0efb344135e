import * as z from 'zod/mini';
import {
  Bar,
  BarInterval,
  Channel,
  Headline,
  MarketState,
  Quote,
  QuoteDelta,
  RequestId,
  SlowPolicy,
  SourceState,
  Timestamp,
} from './model.ts';

/** The protocol version `hello` announces. */
export const PROTOCOL_VERSION = 1;

const seq = z.int().check(z.nonnegative());
const id = z.optional(RequestId);

/** The first message on every connection. */
export const HelloMessage = z.object({
  type: z.literal('hello'),
  version: z.literal(PROTOCOL_VERSION),
  epoch: z.string(),
  /** The latest event's seq when the client connected. */
  seq,
  /** How often the server sends `heartbeat`. */
  heartbeatMs: z.int().check(z.positive()),
});
export type HelloMessage = z.infer<typeof HelloMessage>;

/** The answer to `subscribe`; `recovered` says whether the missed events follow instead of a snapshot. */
export const SubscribedMessage = z.object({
  type: z.literal('subscribed'),
  id,
  channel: Channel,
  symbols: z.optional(z.array(z.string())),
  /** The bar interval of a candles subscription. */
  interval: z.optional(BarInterval),
  recovered: z.boolean(),
});
export type SubscribedMessage = z.infer<typeof SubscribedMessage>;

export const QuoteSnapshotMessage = z.object({
  type: z.literal('snapshot'),
  channel: z.literal('quotes'),
  seq,
  quotes: z.array(Quote),
});
export type QuoteSnapshotMessage = z.infer<typeof QuoteSnapshotMessage>;

export const HeadlineSnapshotMessage = z.object({
  type: z.literal('snapshot'),
  channel: z.literal('headlines'),
  seq,
  /** The latest headlines, newest last. */
  headlines: z.array(Headline),
});
export type HeadlineSnapshotMessage = z.infer<typeof HeadlineSnapshotMessage>;

/** The current trading day's bars of a candles subscription's symbols, at its interval. */
export const CandleSnapshotMessage = z.object({
  type: z.literal('snapshot'),
  channel: z.literal('candles'),
  interval: BarInterval,
  seq,
  candles: z.array(Bar),
});
export type CandleSnapshotMessage = z.infer<typeof CandleSnapshotMessage>;

/** The current state of a channel's subscription, one form per channel. */
export const SnapshotMessage = z.discriminatedUnion('channel', [
  QuoteSnapshotMessage,
  HeadlineSnapshotMessage,
  CandleSnapshotMessage,
]);
export type SnapshotMessage = z.infer<typeof SnapshotMessage>;

/** A quote update: `symbol`, `seq`, `v`, `ts` and only the fields that changed. */
export const QuoteMessage = z.extend(QuoteDelta, { type: z.literal('quote'), seq });
export type QuoteMessage = z.infer<typeof QuoteMessage>;

export const HeadlineMessage = z.extend(Headline, { type: z.literal('headline'), seq });
export type HeadlineMessage = z.infer<typeof HeadlineMessage>;

/** A bar that changed or closed: the whole bar, so a later one replaces an earlier one. */
export const CandleMessage = z.extend(Bar, { type: z.literal('candle'), seq });
export type CandleMessage = z.infer<typeof CandleMessage>;

/** Sent every `heartbeatMs`, with the latest seq: a quiet connection can tell a stalled feed from a quiet market. */
export const HeartbeatMessage = z.object({ type: z.literal('heartbeat'), seq, ts: Timestamp });
export type HeartbeatMessage = z.infer<typeof HeartbeatMessage>;

/** The source's and the market's state; sent after `hello` and whenever it changes. */
export const StatusMessage = z.object({
  type: z.literal('status'),
  source: z.string(),
  state: SourceState,
  market: MarketState,
  asOf: Timestamp,
});
export type StatusMessage = z.infer<typeof StatusMessage>;

/** Something the client should know that is not an error (`slow_consumer`). */
export const NoticeMessage = z.object({
  type: z.literal('notice'),
  code: z.string(),
  policy: z.optional(SlowPolicy),
  conflated: z.optional(z.int().check(z.nonnegative())),
  message: z.optional(z.string()),
});
export type NoticeMessage = z.infer<typeof NoticeMessage>;

export const PongMessage = z.object({ type: z.literal('pong'), id });
export type PongMessage = z.infer<typeof PongMessage>;

export const ErrorCode = z.enum([
  'bad_request',
  'unknown_op',
  'unknown_channel',
  'too_many_symbols',
  'rate_limited',
  'payload_too_large',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/**
 * A request the server could not carry out; the connection stays open. A `rate_limited` one
 * says when the same request would be answered (`retryAfterMs`).
 */
export const ErrorMessage = z.object({
  type: z.literal('error'),
  id,
  // Today's codes, or one a newer server adds: the protocol has a client treat that as a
  // generic error, so it must not fail validation as a malformed message.
  code: z.union([ErrorCode, z.string()]),
  message: z.string(),
  retryAfterMs: z.optional(z.int().check(z.nonnegative())),
});
export type ErrorMessage = z.infer<typeof ErrorMessage>;

/**
 * Every server → client message by its `type`: adding a message is adding its schema here
 * (the client's validation, the types and the generated JSON Schema all follow).
 */
export const serverMessages = {
  hello: HelloMessage,
  subscribed: SubscribedMessage,
  snapshot: SnapshotMessage,
  quote: QuoteMessage,
  headline: HeadlineMessage,
  candle: CandleMessage,
  heartbeat: HeartbeatMessage,
  status: StatusMessage,
  notice: NoticeMessage,
  pong: PongMessage,
  error: ErrorMessage,
} as const;

export type ServerMessage = z.infer<(typeof serverMessages)[keyof typeof serverMessages]>;

/** A message that carries the `seq` of the hub event it comes from: where a resume continues. */
export type EventMessage = QuoteMessage | HeadlineMessage | CandleMessage;
