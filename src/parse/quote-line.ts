import type { Direction, QuoteKind } from '../protocol/messages.ts';
import type { ParsedQuote, Rejected } from './events.ts';

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

const MOVE_WORDS = /\b(Increased By|Decreased By|No Change)\b/;
const QUOTE =
  /^([A-Z][A-Z0-9]{0,11}(?:-[A-Z0-9]{1,8})?)\s+([0-9][0-9,]*(?:\.[0-9]+)?)\s+(Increased By|Decreased By|No Change)\s*([▲▼])?\s*([-+]?[0-9][0-9,]*(?:\.[0-9]+)?)\s*\(\s*([-+]?[0-9]+(?:\.[0-9]+)?)\s*%\s*\)$/;
const SYMBOL_START = /^[A-Z][A-Z0-9-]*\s/;

const DIRECTION_OF: Record<string, Direction> = {
  'Increased By': 'up',
  'Decreased By': 'down',
  'No Change': 'unchanged',
};

/** Normalizes the whitespace a scraped page carries (NBSP, tabs, runs of spaces, CR). */
export const normalizeLine = (raw: string): string => raw.replace(/[\s\u00a0\u2007\u202f]+/g, ' ').trim();

/**
 * Reads one ticker line. Returns null for text that does not look like a quote at all
 * (prose, chrome), a `rejected` event for a line that looks like one but is malformed.
 * @example parseQuoteLine('BOP 5.26 Decreased By ▼ -0.07 (-1.31%)', 2)
 */
export const parseQuoteLine = (raw: string, line: number): ParsedQuote | Rejected | null => {
  const text = normalizeLine(raw);
  if (!SYMBOL_START.test(text) || !MOVE_WORDS.test(text)) return null;
  const m = QUOTE.exec(text);
  if (!m) return { type: 'rejected', line, text, reason: explainRejection(text) };
  const [, symbol, priceText, word, arrow, changeText, pctText] = m as unknown as string[] & { length: 7 };
  const direction = DIRECTION_OF[word!]!;
  const price = toNumber(priceText!);
  const magnitude = Math.abs(toNumber(changeText!));
  const pctMagnitude = Math.abs(toNumber(pctText!));
  const sign = direction === 'down' ? -1 : 1;
  const change = direction === 'unchanged' ? magnitude : sign * magnitude;
  const changePercent = direction === 'unchanged' ? pctMagnitude : sign * pctMagnitude;
  const kind: QuoteKind = arrow === undefined || KNOWN_INDICES.has(symbol!) ? 'index' : 'stock';
  const quote: ParsedQuote = {
    type: 'quote',
    symbol: symbol!,
    kind,
    price,
    change,
    changePercent,
    direction,
    line,
  };
  const suspect = crossCheck(quote, arrow, changeText!, pctText!);
  if (suspect) quote.suspect = suspect;
  return quote;
};

const toNumber = (text: string): number => Number(text.replace(/,/g, ''));

/** Says which part of a quote-like line is wrong, in words a person understands. */
const explainRejection = (text: string): string => {
  const [symbol, price] = text.split(' ');
  if (!/^[A-Z][A-Z0-9]{0,11}(?:-[A-Z0-9]{1,8})?$/.test(symbol ?? ''))
    return `symbol "${symbol}" is not a ticker symbol`;
  if (!/^[0-9][0-9,]*(?:\.[0-9]+)?$/.test(price ?? '')) return `price "${price}" is not a number`;
  if (!/\(\s*[-+]?[0-9.]+\s*%\s*\)\s*$/.test(text))
    return 'the change percent "(N%)" is missing or malformed';
  return 'the change after the direction is missing or not a number';
};

/** Minor units (hundredths) so the percent check is exact integer arithmetic. */
const cents = (n: number): number => Math.round(n * 100);

const crossCheck = (
  q: ParsedQuote,
  arrow: string | undefined,
  changeText: string,
  pctText: string,
): string | undefined => {
  if (q.direction === 'unchanged') {
    return cents(Math.abs(q.change)) !== 0 ? 'says "No Change" but the change is not zero' : undefined;
  }
  const up = q.direction === 'up';
  if (arrow === (up ? '▼' : '▲')) return `says "${up ? 'Increased' : 'Decreased'}" but the arrow is ${arrow}`;
  if (changeText.startsWith(up ? '-' : '+'))
    return `says "${up ? 'Increased' : 'Decreased'}" but the change sign disagrees`;
  if (pctText.startsWith(up ? '-' : '+'))
    return `says "${up ? 'Increased' : 'Decreased'}" but the percent sign disagrees`;
  if (cents(Math.abs(q.change)) === 0) return 'a move with zero change';
  const previous = q.price - q.change;
  if (previous <= 0) return 'the change is larger than the price';
  const expected = (q.change / previous) * 100;
  // The site rounds the percent to two decimals (and drops trailing zeros), so allow that much.
  if (Math.abs(expected - q.changePercent) > 0.011 + Math.abs(expected) * 0.001) {
    return `percent ${q.changePercent}% does not match the change (${expected.toFixed(2)}%)`;
  }
  return undefined;
};
