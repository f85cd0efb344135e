/**
 * The wire contract (docs/protocol.md, version 1). Its one source is the zod module in the
 * client package (`client/protocol/`), which the server, the client library and the widget
 * share; this re-export keeps the server's imports in one place. Beside it, the hub's own
 * events, which the journal and the bus carry but clients never see whole.
 */
import * as z from 'zod/mini';
import { Bar, HeadlineMessage, QuoteMessage } from '../../client/protocol/index.ts';

export * from '../../client/protocol/index.ts';

/**
 * Bars as one hub event: those the feed's clock closed at once, of every symbol and interval
 * (the bars a quote changes are folded from the quote by every hub, and take its seq). Journals
 * written before then also hold one per quote change, with its symbol's bars of every interval.
 * A subscriber gets a `candle` with this `seq` for each bar of its interval.
 */
export const BarsMessage = z.object({
  type: z.literal('bars'),
  seq: z.int().check(z.nonnegative()),
  bars: z.array(Bar),
});
export type BarsMessage = z.infer<typeof BarsMessage>;

/** An event that the hub stamps with `seq`: what history, the journal and the bus hold. */
export const HubMessage = z.discriminatedUnion('type', [QuoteMessage, HeadlineMessage, BarsMessage]);
export type HubMessage = QuoteMessage | HeadlineMessage | BarsMessage;

/**
 * What is wrong with `x` as a hub event read back from the journal or the bus, or undefined
 * when nothing is: the hub folds a quote's price into bars and puts a bars event's bars, so a
 * garbled one would make wrong numbers (or throw) where nobody sees why.
 */
export const hubMessageProblem = (x: unknown): string | undefined => schemaProblem(HubMessage, x);

/** What is wrong with `x` as `schema` would have it (its first issue, where), or undefined. */
export const schemaProblem = (schema: z.ZodMiniType, x: unknown): string | undefined => {
  const parsed = z.safeParse(schema, x);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0]!;
  return `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`;
};
