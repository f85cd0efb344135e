import * as z from 'zod/mini';
import { BarInterval, Channel, INTERVAL_LIST, Position, RequestId, SlowPolicy } from './model.ts';
import { SYMBOL_PATTERN, symbolPatternProblem } from './symbols.ts';

const SYMBOLS_MESSAGE = 'symbols must be an array of strings';

/** A symbol name (`AIRLINK`) or a prefix pattern (`OGDC*`; `*` alone is every symbol). */
export const SymbolPattern = z.string({ error: SYMBOLS_MESSAGE }).check(
  z.regex(SYMBOL_PATTERN, {
    error: (issue) => symbolPatternProblem(String(issue.input)) ?? 'not a symbol',
  }),
);

const symbols = z.optional(z.array(SymbolPattern, { error: SYMBOLS_MESSAGE }));
const id = z.optional(RequestId);

/** Subscribes to a channel, optionally resuming after `since`. */
export const SubscribeRequest = z.strictObject({
  op: z.literal('subscribe'),
  id,
  channel: Channel,
  symbols,
  /** At most this many updates per second per symbol; held deltas are merged. */
  maxRate: z.optional(
    z
      .number({ error: 'maxRate must be a number of updates per second' })
      .check(z.positive(), z.maximum(1000)),
  ),
  since: z.optional(z.strictObject(Position.shape)),
  slow: z.optional(SlowPolicy),
  /** The bar interval of a candles subscription (required there, refused elsewhere). */
  interval: z.optional(BarInterval),
});
export type SubscribeRequest = z.infer<typeof SubscribeRequest>;

/** Ends a subscription, or some of its symbols. */
export const UnsubscribeRequest = z.strictObject({
  op: z.literal('unsubscribe'),
  id,
  channel: Channel,
  symbols,
  /** Candles: only this interval's subscription (every interval when absent). */
  interval: z.optional(BarInterval),
});
export type UnsubscribeRequest = z.infer<typeof UnsubscribeRequest>;

/** Asks for a `pong`. */
export const PingRequest = z.strictObject({ op: z.literal('ping'), id });
export type PingRequest = z.infer<typeof PingRequest>;

/**
 * Every client → server request by its `op`: adding a request is adding its schema here
 * (the server's validation, the types and the generated JSON Schema all follow).
 */
export const clientRequests = {
  subscribe: SubscribeRequest,
  unsubscribe: UnsubscribeRequest,
  ping: PingRequest,
} as const;

export type ClientRequest = z.infer<(typeof clientRequests)[keyof typeof clientRequests]>;

/**
 * The rule the schemas cannot state: a candles subscription names its interval, and no other
 * channel takes one. The server answers a breach with bad_request; the client library checks
 * it before sending, with the same words.
 */
export const intervalProblem = (request: ClientRequest): string | undefined => {
  if (request.op === 'ping') return undefined;
  if (request.channel !== 'candles')
    return request.interval === undefined
      ? undefined
      : 'interval: only the candles channel takes an interval';
  return request.op === 'subscribe' && request.interval === undefined
    ? `interval: a candles subscription needs one of ${INTERVAL_LIST}`
    : undefined;
};
