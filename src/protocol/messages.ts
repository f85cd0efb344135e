/**
 * The wire contract (docs/protocol.md, version 1). Its one source is the zod module in the
 * client package (`client/protocol/`), which the server, the client library and the widget
 * share; this re-export keeps the server's imports in one place. Beside it, the hub's own
 * events, which the journal and the bus carry but clients never see whole.
 */
import { Ajv } from 'ajv';
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

// The patterns in zod's JSON Schema carry its formats' rules (a date-time's is one): ajv need not
// know the format names as well.
const ajv = new Ajv({ validateFormats: false });

/**
 * {@link schemaProblem} for data read in bulk (days of bars, millions of them), where zod's
 * checks are most of the cost of reading: `schema`'s JSON Schema (every type, bound and pattern;
 * refinements are not in it, so a caller checks those), compiled to code by ajv once.
 */
export const compiledCheck = (schema: z.ZodMiniType): ((x: unknown) => string | undefined) => {
  const validate = ajv.compile(z.toJSONSchema(schema, { target: 'draft-07' }));
  return (x) => {
    if (validate(x)) return undefined;
    const error = validate.errors![0]!;
    const path = error.instancePath.slice(1).replaceAll('/', '.');
    return `${path ? `${path}: ` : ''}${error.message ?? 'invalid'}`;
  };
};
