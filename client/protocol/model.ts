import * as z from 'zod/mini';

/** An ISO-8601 UTC timestamp, as `Date.prototype.toISOString` writes it. */
export const Timestamp = z.iso.datetime();

/** A position in the event stream: what a client resumes from. */
export const Position = z.object({
  /** Changes whenever the server starts with no history it can continue. */
  epoch: z.string().check(z.maxLength(64)),
  seq: z.int().check(z.nonnegative()),
});
export type Position = z.infer<typeof Position>;

export const QuoteKind = z.enum(['stock', 'index']);
export type QuoteKind = z.infer<typeof QuoteKind>;

export const Direction = z.enum(['up', 'down', 'unchanged']);
export type Direction = z.infer<typeof Direction>;

/** The values a ticker line states. */
export const LineValues = z.object({
  kind: QuoteKind,
  price: z.number(),
  /** Carries its sign: a decrease is negative. */
  change: z.number(),
  changePercent: z.number(),
  direction: Direction,
});
export type LineValues = z.infer<typeof LineValues>;

/**
 * The trading day's values (the day in Asia/Karachi on the feed's clock): the day's first,
 * highest and lowest price, and the previous close, exactly `price − change` in minor units.
 */
export const DayValues = z.object({
  open: z.number(),
  high: z.number(),
  low: z.number(),
  prevClose: z.number(),
});
export type DayValues = z.infer<typeof DayValues>;

/** The values of a quote that the diff compares field by field. */
export const QuoteValues = z.extend(LineValues, DayValues.shape);
export type QuoteValues = z.infer<typeof QuoteValues>;

/** The names of the diffed fields; a delta carries a subset of these. */
export type QuoteField = keyof QuoteValues;

/** The diffed fields, in wire order. */
export const QUOTE_FIELDS = Object.keys(QuoteValues.shape) as QuoteField[];

/** The shared identity of a quote: its symbol, version within the epoch and observation time. */
const quoteIdentity = {
  symbol: z.string().check(z.minLength(1)),
  /** +1 for every accepted change of this symbol within an epoch. */
  v: z.int().check(z.positive()),
  ts: Timestamp,
};

/**
 * A quote in full form, as in snapshots and `/api/snapshot`. The day fields came later in
 * version 1, so a client still takes a quote without them.
 */
export const Quote = z.extend(LineValues, { ...z.partial(DayValues).shape, ...quoteIdentity });
export type Quote = z.infer<typeof Quote>;

/** A quote update on the wire: only the fields whose value changed since the client's last version. */
export const QuoteDelta = z.extend(z.partial(QuoteValues), quoteIdentity);

/** A news story; `id` is stable for the same story. */
export const Headline = z.object({
  id: z.string().check(z.minLength(1)),
  /** Where the story was filed (`SEOUL`); empty when the story has none. */
  dateline: z.string(),
  title: z.string(),
  /** The story's section titles, when it has any. */
  subheads: z.optional(z.array(z.string())),
  text: z.string(),
  ts: Timestamp,
});
export type Headline = z.infer<typeof Headline>;

/** A request's correlation id: echoed by the replies to it. */
export const RequestId = z.union([z.string().check(z.maxLength(128)), z.number()], {
  error: 'id must be a string of at most 128 characters or a finite number',
});
export type RequestId = z.infer<typeof RequestId>;

/** The channels a client can subscribe to; a new channel is one more name here. */
export const CHANNELS = ['quotes', 'headlines', 'candles'] as const;
export const Channel = z.enum(CHANNELS);
export type Channel = z.infer<typeof Channel>;

export const SourceState = z.enum(['running', 'stale', 'ended']);
export type SourceState = z.infer<typeof SourceState>;

export const MarketState = z.enum(['pre-open', 'open', 'closed']);
export type MarketState = z.infer<typeof MarketState>;

export const SlowPolicy = z.enum(['conflate', 'disconnect']);
export type SlowPolicy = z.infer<typeof SlowPolicy>;

// ---- Candles: intraday OHLC bars (channel `candles`, `GET /api/candles`) ----

/** The bar intervals, aligned in Asia/Karachi; a `1d` bar is the trading day. */
export const BAR_INTERVALS = ['1m', '5m', '15m', '1h', '1d'] as const;
/** The allowed intervals, for error messages: `1m, 5m, 15m, 1h or 1d`. */
export const INTERVAL_LIST = `${BAR_INTERVALS.slice(0, -1).join(', ')} or ${BAR_INTERVALS.at(-1)}`;
export const BarInterval = z.enum(BAR_INTERVALS, {
  error: (issue) => `unknown interval ${JSON.stringify(issue.input)}: expected ${INTERVAL_LIST}`,
});
export type BarInterval = z.infer<typeof BarInterval>;

/** An OHLC bar of one symbol on the feed's clock; `updates` counts the quote changes in it. */
export const Bar = z.object({
  symbol: z.string().check(z.minLength(1)),
  interval: BarInterval,
  /** When the bar starts. */
  start: Timestamp,
  open: z.number(),
  high: z.number(),
  low: z.number(),
  close: z.number(),
  updates: z.int().check(z.positive()),
  /** Set once the feed's clock has passed the bar's end: the bar will not change again. */
  closed: z.boolean(),
});
export type Bar = z.infer<typeof Bar>;

/** `GET /api/candles`: bars ordered by symbol, then start. A page checks it like a message. */
export const CandlesResponse = z.object({
  epoch: z.string(),
  seq: z.int().check(z.nonnegative()),
  interval: BarInterval,
  candles: z.array(Bar),
});
export type CandlesResponse = z.infer<typeof CandlesResponse>;
