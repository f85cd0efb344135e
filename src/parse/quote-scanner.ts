import { QUOTE_SYMBOL_LIMITS, type Direction } from '../protocol/messages.ts';

/** Which part of the quote grammar a line broke; `QuoteScanner.failedAt` says where. */
export type ScanFailure = 'symbol' | 'price' | 'move' | 'change' | 'percent' | 'trailing' | 'digits';

// The symbol grammar is the protocol module's; this scanner is its fast reader.
const { head: SYMBOL_MAX, suffix: SUFFIX_MAX } = QUOTE_SYMBOL_LIMITS;
// Integer minor units stay exact below 2^53, so 15 significant digits is the safe bound.
const DIGITS_MAX = 15;
/** Powers of ten by exponent, so scaling a decimal is a lookup, not `Math.pow`. */
export const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

const SPACE = 32;
const TAB = 9;
const CR = 13;
const NBSP = 0xa0;
const DIGIT_0 = 48;
const DIGIT_9 = 57;
const UPPER_A = 65;
const UPPER_Z = 90;
const COMMA = 44;
const DOT = 46;
const MINUS = 45;
const PLUS = 43;
const OPEN = 40;
const CLOSE = 41;
const PERCENT = 37;
const ARROW_UP = 0x25b2; // ▲
const ARROW_DOWN = 0x25bc; // ▼

/** Whitespace exactly as JavaScript's `\s` defines it, so the scanner and `normalizeLine` agree. */
export const isSpace = (c: number): boolean =>
  c === SPACE ||
  (c >= TAB && c <= CR) ||
  (c >= NBSP &&
    (c === NBSP ||
      c === 0x1680 ||
      (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x202f ||
      c === 0x205f ||
      c === 0x3000 ||
      c === 0xfeff));

/** A word as char codes, so matching it reads one array kind (see `sameAt`). */
const codesOf = (word: string): Uint16Array => Uint16Array.from(word, (ch) => ch.charCodeAt(0));
const INCREASED = codesOf('Increased');
const DECREASED = codesOf('Decreased');
const NO = codesOf('No');
const BY = codesOf('By');
const CHANGE = codesOf('Change');

/**
 * `text.startsWith(word, at)` as a char-code loop over a code array: the builtin is a call the
 * optimizer does not inline, and comparing against string constants of mixed representations
 * makes the loop polymorphic; the move phrase is matched on every line.
 */
const sameAt = (text: string, at: number, end: number, word: Uint16Array): boolean => {
  if (at + word.length > end) return false;
  for (let i = 0; i < word.length; i++) if (text.charCodeAt(at + i) !== word[i]) return false;
  return true;
};

const isDigit = (c: number): boolean => c >= DIGIT_0 && c <= DIGIT_9;
const isUpper = (c: number): boolean => c >= UPPER_A && c <= UPPER_Z;

/** Slots in the symbol cache: a feed has a few hundred symbols, so collisions are rare. */
const SYMBOL_SLOTS = 4096;

/**
 * Hands out one string per symbol without slicing the line each time: a feed repeats the same
 * few hundred symbols, and a fresh string per line would be a large share of the parser's garbage.
 * Direct-mapped by a hash of the chars, so it stays bounded whatever the input holds.
 */
class SymbolCache {
  private readonly slots: (string | undefined)[] = new Array<string | undefined>(SYMBOL_SLOTS).fill(
    undefined,
  );

  /** The symbol `text` holds from `start` to `end`, whose chars hash to `hash` (see `readSymbol`). */
  intern(text: string, start: number, end: number, hash: number): string {
    const slot = hash & (SYMBOL_SLOTS - 1);
    const known = this.slots[slot];
    if (known !== undefined && known.length === end - start && text.startsWith(known, start)) return known;
    return (this.slots[slot] = text.slice(start, end));
  }
}

/** A decimal read as integer minor units: `80.60` is units 8060 at scale 2. */
export interface Decimal {
  units: number;
  scale: number;
  /** The sign as written: -1 for `-`, +1 for `+`, 0 when there is none. */
  sign: -1 | 0 | 1;
}

/**
 * The decimal's size as the JSON number nearest to it, with the given sign:
 * `8060 / 100` rounds once, to exactly the double that `80.6` denotes. Zero is never -0.
 */
export const signedValue = (d: Decimal, sign: number): number =>
  d.units === 0 ? 0 : (sign < 0 ? -d.units : d.units) / POW10[d.scale]!;

/** The first position from `p` that is not whitespace (or `end`). */
const skipSpaces = (text: string, p: number, end: number): number => {
  while (p < end && isSpace(text.charCodeAt(p))) p++;
  return p;
};

/**
 * Reads one ticker line with char codes, without slicing or regular expressions:
 * `SYMBOL PRICE (Increased By|Decreased By|No Change) [▲|▼] CHANGE (PCT%)`, any run of
 * whitespace between parts. Reused for every line of a text so the hot loop allocates
 * nothing but the quote. Each step takes the position and returns the next one (-1 when
 * the line breaks the grammar), keeping the cursor in a local; after a failed `scan`,
 * `failure` and `failedAt` say what broke where.
 */
export class QuoteScanner {
  symbol = '';
  direction: Direction = 'unchanged';
  /** The arrow as written: +1 ▲, -1 ▼, 0 none. */
  arrow: -1 | 0 | 1 = 0;
  readonly price: Decimal = { units: 0, scale: 0, sign: 0 };
  readonly change: Decimal = { units: 0, scale: 0, sign: 0 };
  readonly percent: Decimal = { units: 0, scale: 0, sign: 0 };
  failure: ScanFailure | undefined;
  failedAt = 0;
  private readonly symbols = new SymbolCache();

  /** Scans `text` from `start` to `end` (exclusive); true when the whole range is a quote. */
  scan(text: string, start: number, end: number): boolean {
    this.failure = undefined;
    let p = this.readSymbol(text, skipSpaces(text, start, end), end);
    if (p < 0) return false;
    p = this.readDecimal(text, this.afterSpace(text, p, end, 'price'), end, this.price, false, 'price');
    if (p < 0) return false;
    p = this.readMove(text, this.afterSpace(text, p, end, 'move'), end);
    if (p < 0) return false;
    p = skipSpaces(text, p, end);
    const c = p < end ? text.charCodeAt(p) : -1;
    this.arrow = c === ARROW_UP ? 1 : c === ARROW_DOWN ? -1 : 0;
    if (this.arrow !== 0) p = skipSpaces(text, p + 1, end);
    p = this.readDecimal(text, p, end, this.change, true, 'change');
    if (p < 0) return false;
    p = skipSpaces(text, this.readPercent(text, p, end), end);
    if (p < 0) return false;
    return p === end || this.fail('trailing', p) >= 0;
  }

  private fail(failure: ScanFailure, at: number): -1 {
    this.failure = failure;
    this.failedAt = at;
    return -1;
  }

  /** Past the whitespace that must separate two parts; -1 (failing `next`) when there is none. */
  private afterSpace(text: string, p: number, end: number, next: ScanFailure): number {
    if (p < 0) return p;
    const after = skipSpaces(text, p, end);
    return after > p ? after : this.fail(next, p);
  }

  private readSymbol(text: string, start: number, end: number): number {
    let c = start < end ? text.charCodeAt(start) : -1;
    if (!isUpper(c)) return this.fail('symbol', start);
    // The symbol cache's hash is built here, in the one pass over the symbol's chars.
    let hash = c;
    let p = start + 1;
    for (; p < end && p - start <= SYMBOL_MAX; p++) {
      c = text.charCodeAt(p);
      if (!isUpper(c) && !isDigit(c)) break;
      hash = (Math.imul(hash, 31) + c) | 0;
    }
    if (p - start > SYMBOL_MAX) return this.fail('symbol', start);
    if (p < end && c === MINUS) {
      const suffixStart = ++p;
      for (; p < end && p - suffixStart <= SUFFIX_MAX; p++) {
        c = text.charCodeAt(p);
        if (!isUpper(c) && !isDigit(c)) break;
        hash = (Math.imul(hash, 31) + c) | 0;
      }
      if (p === suffixStart || p - suffixStart > SUFFIX_MAX) return this.fail('symbol', start);
    }
    if (p < end && !isSpace(text.charCodeAt(p))) return this.fail('symbol', start);
    this.symbol = this.symbols.intern(text, start, p, hash);
    return p;
  }

  /** A number with optional thousands separators (in groups of three) and decimals. */
  private readDecimal(
    text: string,
    start: number,
    end: number,
    into: Decimal,
    signed: boolean,
    part: ScanFailure,
  ): number {
    if (start < 0) return start;
    let p = start;
    let sign: -1 | 0 | 1 = 0;
    if (signed && p < end) {
      const c = text.charCodeAt(p);
      if (c === MINUS || c === PLUS) {
        sign = c === MINUS ? -1 : 1;
        p++;
      }
    }
    // Leading zeros add no magnitude: only the digits after them count toward DIGITS_MAX.
    let significant = 0;
    let units = 0;
    let commas = 0;
    let groupStart = p;
    let c = p < end ? text.charCodeAt(p) : -1;
    if (!isDigit(c)) return this.fail(part, start);
    for (;;) {
      while (isDigit(c)) {
        if (units !== 0 || c !== DIGIT_0) significant++;
        units = units * 10 + (c - DIGIT_0);
        c = ++p < end ? text.charCodeAt(p) : -1;
      }
      if (c !== COMMA || p + 1 >= end || !isDigit(text.charCodeAt(p + 1))) break;
      // `7,626` and `120,455.75` hold separators; `72,74` or `1,2345` do not.
      if (commas > 0 ? p - groupStart !== 3 : p - groupStart > 3) return this.fail(part, start);
      commas++;
      groupStart = p + 1;
      c = text.charCodeAt(++p);
    }
    if (commas > 0 && p - groupStart !== 3) return this.fail(part, start);
    let scale = 0;
    if (c === DOT) {
      const fractionStart = p + 1;
      c = ++p < end ? text.charCodeAt(p) : -1;
      if (!isDigit(c)) return this.fail(part, start);
      while (isDigit(c)) {
        if (units !== 0 || c !== DIGIT_0) significant++;
        units = units * 10 + (c - DIGIT_0);
        c = ++p < end ? text.charCodeAt(p) : -1;
      }
      scale = p - fractionStart;
    }
    if (significant > DIGITS_MAX) return this.fail('digits', start);
    into.units = units;
    into.scale = scale;
    into.sign = sign;
    return p;
  }

  /** `Increased By`, `Decreased By` or `No Change`, with any whitespace between the words. */
  private readMove(text: string, at: number, end: number): number {
    if (at < 0) return at;
    let second = BY;
    let p = at + INCREASED.length;
    if (sameAt(text, at, end, INCREASED)) this.direction = 'up';
    else if (sameAt(text, at, end, DECREASED)) this.direction = 'down';
    else if (sameAt(text, at, end, NO)) {
      this.direction = 'unchanged';
      second = CHANGE;
      p = at + NO.length;
    } else return this.fail('move', at);
    const after = skipSpaces(text, p, end);
    if (after === p || !sameAt(text, after, end, second)) return this.fail('move', at);
    p = after + second.length;
    const next = p < end ? text.charCodeAt(p) : -1;
    // The phrase must end there: `Increased Byx` is not the phrase, `By▲` is.
    if (next !== -1 && !isSpace(next) && next !== ARROW_UP && next !== ARROW_DOWN)
      return this.fail('move', at);
    return p;
  }

  /** `(1.5%)`, `(0%)`, `( -5 % )`: the change percent in parentheses. */
  private readPercent(text: string, start: number, end: number): number {
    const at = skipSpaces(text, start, end);
    if (at >= end || text.charCodeAt(at) !== OPEN) return this.fail('percent', at);
    let p = this.readDecimal(text, skipSpaces(text, at + 1, end), end, this.percent, true, 'percent');
    if (p < 0) return this.fail('percent', at);
    p = skipSpaces(text, p, end);
    if (p >= end || text.charCodeAt(p) !== PERCENT) return this.fail('percent', at);
    p = skipSpaces(text, p + 1, end);
    if (p >= end || text.charCodeAt(p) !== CLOSE) return this.fail('percent', at);
    return p + 1;
  }
}
