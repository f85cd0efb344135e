/**
 * What a symbol is, in one place: the names the feed's quote lines carry, and the names and
 * prefix patterns a client may subscribe to. The parser, the server's request checks, `tail`,
 * the `<tick-tape>` widget and `GET /api/candles` all read them from here, so a list one accepts
 * the others accept too, and a refusal says the same thing everywhere.
 */

/** Longest name, or prefix before the `*`, that a request may give. */
export const SYMBOL_MAX_LENGTH = 32;

/**
 * A subscription's symbol as the wire contract states it (docs/protocol.md, section 4): a name
 * (`AIRLINK`), a prefix pattern (`OGDC*`) or `*` alone for every symbol. Capitals, digits, `.`
 * and `-`; wider than a quote's symbol so a client is never refused a name a feed may carry.
 */
export const SYMBOL_PATTERN = new RegExp(`^(\\*|[A-Z0-9][A-Z0-9.-]{0,${SYMBOL_MAX_LENGTH - 1}}\\*?)$`);

/**
 * A quote's symbol as the feed writes it: a capital, then capitals and digits, at most
 * `head` in all, and an optional `-SUFFIX` of at most `suffix` (`OGDC-MAY`). The parser's
 * scanner reads this grammar char by char; tests hold it to {@link QUOTE_SYMBOL}.
 */
export const QUOTE_SYMBOL_LIMITS = { head: 12, suffix: 8 } as const;

/** {@link QUOTE_SYMBOL_LIMITS} as a regular expression: the reference the scanner is checked against. */
export const QUOTE_SYMBOL = new RegExp(
  `^[A-Z][A-Z0-9]{0,${QUOTE_SYMBOL_LIMITS.head - 1}}(?:-[A-Z0-9]{1,${QUOTE_SYMBOL_LIMITS.suffix}})?$`,
);

/** How a refused quote symbol is described to whoever reads the rejected line. */
export const QUOTE_SYMBOL_RULE = `capital letters and digits, at most ${QUOTE_SYMBOL_LIMITS.head}, and an optional -SUFFIX`;

/** Whether `s` is a name or prefix pattern a subscription may give. */
export const isSymbolPattern = (s: string): boolean => SYMBOL_PATTERN.test(s);

const EXAMPLE = 'a symbol like AIRLINK or a prefix pattern like OGDC*';

/** Why `s` is not a name or pattern (one sentence naming what to fix), or undefined when it is one. */
export const symbolPatternProblem = (s: string): string | undefined => {
  if (isSymbolPattern(s)) return undefined;
  // Quoted as JSON and clipped: the input may be long or hold control characters.
  const shown = `${JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s)} is not ${EXAMPLE}`;
  const name = s.endsWith('*') ? s.slice(0, -1) : s;
  if (s === '') return `an empty name is not ${EXAMPLE}`;
  if (name.includes('*')) return `${shown}: * only ends a pattern, or stands alone for every symbol`;
  if (name.length > SYMBOL_MAX_LENGTH) return `${shown}: at most ${SYMBOL_MAX_LENGTH} characters`;
  const stray = /[^A-Z0-9.-]/.exec(name.toUpperCase());
  if (stray) return `${shown}: ${JSON.stringify(stray[0])} is not allowed (capitals, digits, . and -)`;
  if (/[a-z]/.test(name))
    return `${shown}: symbols are capitals${isSymbolPattern(s.toUpperCase()) ? ` (${s.toUpperCase()})` : ''}`;
  return `${shown}: it starts with a capital or a digit`;
};

/** Whether a subscription to `pattern` (a name, `PREFIX*` or `*`) covers `symbol`. */
export const patternCovers = (pattern: string, symbol: string): boolean =>
  pattern.endsWith('*') ? symbol.startsWith(pattern.slice(0, -1)) : symbol === pattern;

/** Whether any of `patterns` covers `symbol`; undefined patterns (no list) cover every symbol. */
export const anyCovers = (patterns: readonly string[] | undefined, symbol: string): boolean =>
  patterns === undefined || patterns.some((p) => patternCovers(p, symbol));

/** A list of names and patterns a person typed, checked: the good ones, and why each other one is not. */
export interface SymbolList {
  /** The names and patterns the list holds, in its order, each once. */
  symbols: string[];
  /** One sentence per refused item; an empty list is a problem too. */
  problems: string[];
}

/**
 * Reads a list a person typed (`--symbols`, the widget's `symbols` attribute): names and
 * patterns separated by commas or spaces, duplicates dropped, each held to the same rule the
 * server holds a subscription to, so nothing kept here is refused there.
 * @example readSymbolList('KSE100, OGDC*') // { symbols: ['KSE100', 'OGDC*'], problems: [] }
 */
export const readSymbolList = (text: string): SymbolList => {
  const items = text.split(/[\s,]+/).filter(Boolean);
  if (items.length === 0) return { symbols: [], problems: ['the list names no symbol'] };
  const problems = items.map(symbolPatternProblem).filter((p): p is string => p !== undefined);
  return { symbols: [...new Set(items.filter(isSymbolPattern))], problems };
};
