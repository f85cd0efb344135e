import type { Direction } from '../protocol/messages.ts';

/** Which part of the quote grammar a line broke; `QuoteScanner.failedAt` says where. */
export type ScanFailure = 'symbol' | 'price' | 'move' | 'change' | 'percent' | 'trailing' | 'digits';

/** Longest symbol before an optional `-SUFFIX`, and the longest suffix. */
const SYMBOL_MAX = 12;
const SUFFIX_MAX = 8;
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

/**
 * `text.startsWith(word, at)` as a char-code loop: the builtin is a call that the optimizer
 * does not inline, and the move phrase is matched on every line.
 */
const sameAt = (text: string, at: number, word: string): boolean => {
  if (at + word.length > text.length) return false;
  for (let i = 0; i < word.length; i++) if (text.charCodeAt(at + i) !== word.charCodeAt(i)) return false;
  return true;
};

const isDigit = (c: number): boolean => c >= DIGIT_0 && c <= DIGIT_9;
const isUpper = (c: number): boolean => c >= UPPER_A && c <= UPPER_Z;

/** Slots in the symbol cache: a feed has a few hundred symbols, so collisions are rare. */
const SYMBOL_SLOTS = 4096;

/**
 * Hands out one string per symbol without slicing the line each time: a feed repeats the same
 * few hundred symbols, and a fresh string per line was a large share of the parser's garbage.
 * Direct-mapped by a hash of the chars, so it stays bounded whatever the input holds.
 */
class SymbolCache {
  private readonly slots: (string | undefined)[] = new Array<string | undefined>(SYMBOL_SLOTS).fill(
    undefined,
  );

  intern(text: string, start: number, end: number): string {
    let hash = end - start;
    for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
    const slot = hash & (SYMBOL_SLOTS - 1);
    const known = this.slots[slot];
    if (known !== undefined && known.length === end - start && sameAt(text, start, known)) return known;
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

/**
 * Reads one ticker line with char codes, without slicing or regular expressions:
 * `SYMBOL PRICE (Increased By|Decreased By|No Change) [▲|▼] CHANGE (PCT%)`, any run of
 * whitespace between parts. Reused for every line of a text so the hot loop allocates only
 * the symbol string. After a failed `scan`, `failure` and `failedAt` say what broke where.
 */
export class QuoteScanner {
  private text = '';
  private pos = 0;
  private end = 0;
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
    this.text = text;
    this.pos = start;
    this.end = end;
    this.failure = undefined;
    this.skipSpaces();
    return (
      this.readSymbol() &&
      this.requireSpace('price') &&
      this.readDecimal(this.price, false, 'price') &&
      this.requireSpace('move') &&
      this.readMove() &&
      this.readArrow() &&
      this.readDecimal(this.change, true, 'change') &&
      this.readPercent() &&
      this.atEnd()
    );
  }

  private fail(failure: ScanFailure, at = this.pos): false {
    this.failure = failure;
    this.failedAt = at;
    return false;
  }

  private skipSpaces(): void {
    while (this.pos < this.end && isSpace(this.text.charCodeAt(this.pos))) this.pos++;
  }

  private requireSpace(next: ScanFailure): boolean {
    const before = this.pos;
    this.skipSpaces();
    return this.pos > before || this.fail(next);
  }

  private readSymbol(): boolean {
    const { text } = this;
    const start = this.pos;
    if (this.pos >= this.end || !isUpper(text.charCodeAt(this.pos))) return this.fail('symbol', start);
    let p = this.pos + 1;
    while (p < this.end && p - start <= SYMBOL_MAX) {
      const c = text.charCodeAt(p);
      if (!isUpper(c) && !isDigit(c)) break;
      p++;
    }
    if (p - start > SYMBOL_MAX) return this.fail('symbol', start);
    if (p < this.end && text.charCodeAt(p) === MINUS) {
      const suffixStart = ++p;
      while (p < this.end && p - suffixStart <= SUFFIX_MAX) {
        const c = text.charCodeAt(p);
        if (!isUpper(c) && !isDigit(c)) break;
        p++;
      }
      if (p === suffixStart || p - suffixStart > SUFFIX_MAX) return this.fail('symbol', start);
    }
    if (p < this.end && !isSpace(text.charCodeAt(p))) return this.fail('symbol', start);
    this.symbol = this.symbols.intern(text, start, p);
    this.pos = p;
    return true;
  }

  /** A number with optional thousands separators (in groups of three) and decimals. */
  private readDecimal(into: Decimal, signed: boolean, part: ScanFailure): boolean {
    const { text, end } = this;
    const start = this.pos;
    let p = start;
    let sign: -1 | 0 | 1 = 0;
    if (signed && p < end) {
      const c = text.charCodeAt(p);
      if (c === MINUS || c === PLUS) {
        sign = c === MINUS ? -1 : 1;
        p++;
      }
    }
    let units = 0;
    let digits = 0;
    let group = 0;
    let grouped = false;
    let c = p < end ? text.charCodeAt(p) : -1;
    if (!isDigit(c)) return this.fail(part, start);
    for (;;) {
      if (isDigit(c)) {
        units = units * 10 + (c - DIGIT_0);
        digits++;
        group++;
      } else if (c === COMMA && p + 1 < end && isDigit(text.charCodeAt(p + 1))) {
        // `7,626` and `120,455.75` hold separators; `72,74` or `1,2345` do not.
        if (grouped ? group !== 3 : group > 3) return this.fail(part, start);
        grouped = true;
        group = 0;
      } else break;
      c = ++p < end ? text.charCodeAt(p) : -1;
    }
    if (grouped && group !== 3) return this.fail(part, start);
    let scale = 0;
    if (c === DOT) {
      c = ++p < end ? text.charCodeAt(p) : -1;
      if (!isDigit(c)) return this.fail(part, start);
      while (isDigit(c)) {
        units = units * 10 + (c - DIGIT_0);
        digits++;
        scale++;
        c = ++p < end ? text.charCodeAt(p) : -1;
      }
    }
    if (digits > DIGITS_MAX) return this.fail('digits', start);
    into.units = units;
    into.scale = scale;
    into.sign = sign;
    this.pos = p;
    return true;
  }

  /** `Increased By`, `Decreased By` or `No Change`, with any whitespace between the words. */
  private readMove(): boolean {
    const { text } = this;
    const at = this.pos;
    let second: string;
    if (sameAt(text, at, 'Increased')) {
      this.direction = 'up';
      second = 'By';
    } else if (sameAt(text, at, 'Decreased')) {
      this.direction = 'down';
      second = 'By';
    } else if (sameAt(text, at, 'No')) {
      this.direction = 'unchanged';
      second = 'Change';
    } else return this.fail('move', at);
    this.pos += this.direction === 'unchanged' ? 2 : 9;
    if (!this.requireSpace('move') || !sameAt(text, this.pos, second)) return this.fail('move', at);
    this.pos += second.length;
    const next = this.pos < this.end ? text.charCodeAt(this.pos) : -1;
    // The phrase must end there: `Increased Byx` is not the phrase, `By▲` is.
    if (next !== -1 && !isSpace(next) && next !== ARROW_UP && next !== ARROW_DOWN)
      return this.fail('move', at);
    return true;
  }

  private readArrow(): boolean {
    this.skipSpaces();
    const c = this.pos < this.end ? this.text.charCodeAt(this.pos) : -1;
    this.arrow = c === ARROW_UP ? 1 : c === ARROW_DOWN ? -1 : 0;
    if (this.arrow !== 0) {
      this.pos++;
      this.skipSpaces();
    }
    return true;
  }

  /** `(1.5%)`, `(0%)`, `( -5 % )`: the change percent in parentheses. */
  private readPercent(): boolean {
    const start = this.pos;
    this.skipSpaces();
    if (this.pos >= this.end || this.text.charCodeAt(this.pos) !== OPEN) return this.fail('percent', start);
    this.pos++;
    this.skipSpaces();
    if (!this.readDecimal(this.percent, true, 'percent')) return this.fail('percent', start);
    this.skipSpaces();
    if (this.pos >= this.end || this.text.charCodeAt(this.pos) !== PERCENT)
      return this.fail('percent', start);
    this.pos++;
    this.skipSpaces();
    if (this.pos >= this.end || this.text.charCodeAt(this.pos) !== CLOSE) return this.fail('percent', start);
    this.pos++;
    return true;
  }

  private atEnd(): boolean {
    this.skipSpaces();
    return this.pos === this.end || this.fail('trailing');
  }
}
