import { patternCovers, type Direction, type Quote } from './protocol/index.ts';

const MINUS = '\u2212';

/** How the tape and the demo write numbers and times in one locale. */
export interface Formats {
  /** A price with grouping and two decimals: `72,801.00`. */
  price(price: number): string;
  /** A signed change with a typographic minus: `+1.19`, `−0.07`, `0.00`. */
  change(change: number): string;
  /** A signed percentage: `+1.50%`. */
  percent(percent: number): string;
  /** The time of an ISO timestamp on the exchange's clock (Asia/Karachi): `09:31:00`. */
  time(ts: string): string;
  /** The language tag, as Intl reads it. */
  locale: string;
  /** Whether the locale's script runs right to left (`ur-PK`, `ar`). */
  rtl: boolean;
}

// Languages written right to left, for runtimes without Intl.Locale's text info.
const RTL_LANGUAGES = new Set(['ar', 'ckb', 'dv', 'fa', 'he', 'ks', 'ps', 'sd', 'ug', 'ur', 'yi']);

const isRtl = (locale: Intl.Locale): boolean => {
  const info = locale as Intl.Locale & {
    getTextInfo?: () => { direction?: string };
    textInfo?: { direction?: string };
  };
  const direction = info.getTextInfo?.().direction ?? info.textInfo?.direction;
  return direction ? direction === 'rtl' : RTL_LANGUAGES.has(locale.language);
};

/**
 * The formats of `locale` (a BCP 47 tag); throws a RangeError for a tag Intl rejects.
 * @example localeFormats('ur-PK').price(72801) // '72,801.00', and rtl is true
 */
export const localeFormats = (locale = 'en-US'): Formats => {
  const tag = new Intl.Locale(locale);
  const number = new Intl.NumberFormat(tag, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const time = new Intl.DateTimeFormat(tag, {
    timeZone: 'Asia/Karachi',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  const change = (n: number) =>
    n > 0 ? `+${number.format(n)}` : n < 0 ? `${MINUS}${number.format(-n)}` : number.format(0);
  return {
    price: (price) => number.format(price),
    change,
    percent: (percent) => `${change(percent)}%`,
    time: (ts) => time.format(new Date(ts)),
    locale: tag.toString(),
    rtl: isRtl(tag),
  };
};

const defaults = localeFormats();

/** A price with thousands separators and two decimals: `72,801.00`. */
export const formatPrice = defaults.price;
/** A signed change with a typographic minus: `+1.19`, `−0.07`, `0.00`. */
export const formatChange = defaults.change;
/** A signed percentage: `+1.50%`. */
export const formatPercent = defaults.percent;
/** The time of an ISO timestamp on the exchange's clock (Asia/Karachi): `09:31:00`. */
export const formatTime = defaults.time;

/** The arrow the tape shows for a direction. */
export const arrow = (direction: Direction): string =>
  direction === 'up' ? '▲' : direction === 'down' ? '▼' : '■';

/** Indexes first, then stocks, each by symbol: how a tape reads best without a chosen order. */
export const tapeOrder = (a: Quote, b: Quote): number =>
  a.kind !== b.kind ? (a.kind === 'index' ? -1 : 1) : a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0;

/**
 * The quotes a list of names and patterns picks, each once, in the list's order (a pattern's
 * matches in tape order at its place); without a list, every quote in tape order.
 * @example selectQuotes(quotes, ['KSE100', 'OGDC*']) // KSE100, then OGDC, OGDC-MAY, …
 */
export const selectQuotes = (quotes: readonly Quote[], patterns?: readonly string[]): Quote[] => {
  const ordered = [...quotes].sort(tapeOrder);
  if (!patterns) return ordered;
  const picked = new Set<Quote>();
  for (const p of patterns) for (const q of ordered) if (patternCovers(p, q.symbol)) picked.add(q);
  return [...picked];
};

/** Which way the price moved between two versions of a quote, for a flash's colour. */
export const priceMove = (previous: Quote | undefined, quote: Quote): Direction =>
  !previous || previous.price === quote.price ? 'unchanged' : quote.price > previous.price ? 'up' : 'down';
