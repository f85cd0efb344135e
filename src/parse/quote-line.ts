import { QUOTE_SYMBOL_RULE, type QuoteKind } from '../protocol/messages.ts';
import { clip, REJECTED_TEXT_MAX, rejected, type ParsedQuote, type Rejected } from './events.ts';
import { POW10, QuoteScanner, signedValue, type Decimal } from './quote-scanner.ts';

/** Indices the PSX ticker shows; any other symbol without an arrow is read as an index too. */
export const KNOWN_INDICES = new Set([
  'KSE100',
  'KSE30',
  'KMI30',
  'ALLSHR',
  'BR100',
  'BR30',
  'KMIALLSHR',
  'PSXDIV20',
]);

/**
 * A line that is meant as a quote even if it is malformed: a capitals-and-digits first word,
 * then the move phrase as the second or third word. Prose ("The KSE100 index gained 771
 * points") is not, so it can never be reported as a broken quote, let alone read as one.
 */
const QUOTE_LIKE = /^[A-Z0-9][^\sa-z]* (?:\S+ )?(?:Increased By|Decreased By|No Change)(?:[\s▲▼]|$)/;

/** Normalizes the whitespace a scraped page carries (NBSP, tabs, runs of spaces, CR). */
export const normalizeLine = (raw: string): string => raw.replace(/\s+/g, ' ').trim();

/** True when a normalized line is meant as a ticker line. */
export const looksLikeQuote = (normalized: string): boolean => QUOTE_LIKE.test(normalized);

const scanner = new QuoteScanner();

/**
 * Reads one ticker line. Returns null for text that does not look like a quote at all
 * (prose, chrome), a `rejected` event for a line that looks like one but is malformed.
 * @example parseQuoteLine('BOP 5.26 Decreased By ▼ -0.07 (-1.31%)', 2)
 */
export const parseQuoteLine = (raw: string, line: number): ParsedQuote | Rejected | null => {
  if (scanner.scan(raw, 0, raw.length)) return quoteFrom(scanner, line);
  const text = normalizeLine(raw);
  return looksLikeQuote(text) ? rejected(line, text, explainFailure(scanner, raw, raw.length)) : null;
};

/** The quote a successful scan holds, cross-checked. */
export const quoteFrom = (s: QuoteScanner, line: number): ParsedQuote => {
  const { direction, symbol } = s;
  // The direction word decides the sign: the site omits the minus on some decreases.
  const sign = direction === 'down' ? -1 : direction === 'up' ? 1 : s.change.sign || 1;
  const pctSign = direction === 'down' ? -1 : direction === 'up' ? 1 : s.percent.sign || 1;
  const kind: QuoteKind = s.arrow === 0 || KNOWN_INDICES.has(symbol) ? 'index' : 'stock';
  const quote: ParsedQuote = {
    type: 'quote',
    symbol,
    kind,
    price: signedValue(s.price, 1),
    change: signedValue(s.change, sign),
    changePercent: signedValue(s.percent, pctSign),
    direction,
    line,
  };
  const suspect = crossCheck(s);
  if (suspect) quote.suspect = suspect;
  return quote;
};

/**
 * Says which part of a quote-like line is wrong, in words a person understands, from where
 * the failed scan of `text` (a line ending at `end`) stopped.
 */
export const explainFailure = (s: QuoteScanner, text: string, end: number): string => {
  // Only a line's start is quoted back: the rest of a hostile 10 MB line says nothing more.
  const rest = text.slice(s.failedAt, Math.min(end, s.failedAt + REJECTED_TEXT_MAX + 1));
  const word = clip(/^\S*/.exec(rest)![0], 40);
  switch (s.failure) {
    case 'symbol':
      return `"${word}" is not a ticker symbol (${QUOTE_SYMBOL_RULE})`;
    case 'price':
      return /^(Increased|Decreased|No)$/.test(word)
        ? 'the price is missing before the direction'
        : `price "${word}" is not a number`;
    case 'move':
      return `expected "Increased By", "Decreased By" or "No Change" after the price, found "${word}"`;
    case 'change':
      return word === ''
        ? 'the change after the direction is missing'
        : `change "${word}" after the direction is not a number`;
    case 'percent':
      return word === ''
        ? 'the change percent "(N%)" is missing'
        : `the change percent "(N%)" is missing or malformed at "${word}"`;
    case 'trailing':
      return `unexpected text after the change percent: "${clip(normalizeLine(rest), 40)}"`;
    case 'digits':
      return `"${word}" has more than 15 digits`;
    default:
      return 'not a quote line';
  }
};

/** Rescales a decimal's units to `scale` decimals (never fewer than it has). */
const unitsAt = (d: Decimal, scale: number): number => d.units * POW10[scale - d.scale]!;

/**
 * Direction word vs arrow vs written signs, and percent vs change / (price − change),
 * in integer minor units so no float rounding can flag a good line or pass a bad one.
 */
const crossCheck = (s: QuoteScanner): string | undefined => {
  const { direction, arrow, change, percent } = s;
  if (direction === 'unchanged') {
    if (change.units !== 0) return 'says "No Change" but the change is not zero';
    if (percent.units !== 0) return 'says "No Change" but the percent is not zero';
    return undefined;
  }
  const up = direction === 'up';
  const word = up ? 'Increased' : 'Decreased';
  const against = up ? -1 : 1;
  if (arrow === against) return `says "${word}" but the arrow is ${up ? '▼' : '▲'}`;
  if (change.sign === against) return `says "${word}" but the change is ${up ? 'negative' : 'positive'}`;
  if (percent.sign === against) return `says "${word}" but the percent is ${up ? 'negative' : 'positive'}`;
  if (change.units === 0) return `says "${word}" but the change is zero`;
  const scale = Math.max(s.price.scale, change.scale);
  const price = unitsAt(s.price, scale);
  const delta = up ? unitsAt(change, scale) : -unitsAt(change, scale);
  const previous = price - delta;
  if (previous <= 0) return 'the change is as large as the price';
  // Hundredths of a percent: the site rounds to two decimals (and drops trailing zeros);
  // one hundredth of slack also covers indices whose value is shown rounded to a whole number.
  const expected = (Math.abs(delta) * 10_000) / previous;
  const shown = percent.scale <= 2 ? unitsAt(percent, 2) : percent.units / POW10[percent.scale - 2]!;
  if (Math.abs(shown - expected) > 1 + expected / 1000) {
    return `percent ${signedValue(percent, 1)}% does not match the change (${(expected / 100).toFixed(2)}%)`;
  }
  return undefined;
};
