import { symbolPatternProblem } from '../protocol/messages.ts';
import { ConnectionInterest } from './interest.ts';

/** A comma-separated query parameter as its items, blanks dropped; undefined when it is absent. */
export const csv = (value: string | null): string[] | undefined =>
  value === null
    ? undefined
    : value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/**
 * The most names and patterns one HTTP query's `symbols` may give: each is matched against
 * every symbol the answer could hold, for every request anyone repeats.
 */
export const MAX_QUERY_SYMBOLS = 100;

/**
 * Which symbols an HTTP query asks for: every one (no `symbols`, or an empty list, as a form's
 * empty field sends), those a filter wants, or what to fix.
 */
export type SymbolsParam = { wants?: (symbol: string) => boolean } | { error: string };

/**
 * Reads `symbols=AIRLINK,OGDC*` of `/api/snapshot` and `/api/candles`: names, prefix patterns
 * and `*`, held to the rule a subscription is held to and matched as one is, so a list means
 * the same on every route.
 */
export const symbolsParam = (q: URLSearchParams): SymbolsParam => {
  const listed = csv(q.get('symbols'));
  if (listed === undefined || listed.length === 0) return {};
  const symbols = [...new Set(listed)];
  if (symbols.length > MAX_QUERY_SYMBOLS)
    return { error: `symbols: at most ${MAX_QUERY_SYMBOLS} names or patterns, got ${symbols.length}` };
  for (const s of symbols) {
    const problem = symbolPatternProblem(s);
    if (problem !== undefined) return { error: `symbols: ${problem}` };
  }
  const interest = new ConnectionInterest();
  interest.addQuotes(symbols);
  return { wants: (s) => interest.wantsQuote(s) };
};
