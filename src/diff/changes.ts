import type { Headline, QuoteValues } from '../protocol/messages.ts';
import type { ParsedQuote } from '../parse/events.ts';

/** The quote fields the diff compares, in wire order. A field added to QuoteValues goes here too. */
export const QUOTE_FIELDS = [
  'kind',
  'price',
  'change',
  'changePercent',
  'direction',
  'open',
  'high',
  'low',
  'prevClose',
] as const satisfies readonly (keyof QuoteValues)[];

/** The compared fields of any quote-like object, and nothing else. */
export const quoteValues = (q: QuoteValues): QuoteValues => {
  const values: Partial<QuoteValues> = {};
  for (const field of QUOTE_FIELDS) (values as Record<string, unknown>)[field] = q[field];
  return values as QuoteValues;
};

/** A parsed quote with the time it was observed. */
export interface TimedQuote extends ParsedQuote {
  ts: string;
}

/** What changed for one symbol: every field of a new symbol, else only the changed ones. */
export interface QuoteChange {
  type: 'quote';
  symbol: string;
  ts: string;
  fields: Partial<QuoteValues>;
}

/** A story not seen before. */
export interface HeadlineChange {
  type: 'headline';
  headline: Headline;
}

/** The feed's clock between frames (ms): bars close on it when no later frame comes. */
export interface ClockChange {
  type: 'clock';
  ms: number;
}

/** What the diff and the feed's clock hand the hub. */
export type Change = QuoteChange | HeadlineChange | ClockChange;
