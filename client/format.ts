import type { Direction, Quote } from '../src/protocol/messages.ts';

const MINUS = '\u2212';
const twoDecimals = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** A price with thousands separators and two decimals: `72,801.00`. */
export const formatPrice = (price: number): string => twoDecimals.format(price);

/** A signed change with a typographic minus: `+1.19`, `−0.07`, `0.00`. */
export const formatChange = (change: number): string =>
  change > 0
    ? `+${twoDecimals.format(change)}`
    : change < 0
      ? `${MINUS}${twoDecimals.format(-change)}`
      : '0.00';

/** A signed percentage: `+1.50%`. */
export const formatPercent = (percent: number): string => `${formatChange(percent)}%`;

/** The arrow the tape shows for a direction. */
export const arrow = (direction: Direction): string =>
  direction === 'up' ? '▲' : direction === 'down' ? '▼' : '■';

/** Indexes first, then stocks, each by symbol: how a tape reads best without a chosen order. */
export const tapeOrder = (a: Quote, b: Quote): number =>
  a.kind !== b.kind ? (a.kind === 'index' ? -1 : 1) : a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0;

/** Which way the price moved between two versions of a quote, for a flash's colour. */
export const priceMove = (previous: Quote | undefined, quote: Quote): Direction =>
  !previous || previous.price === quote.price ? 'unchanged' : quote.price > previous.price ? 'up' : 'down';

const KARACHI_TIME = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Karachi',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** The time of an ISO timestamp on the exchange's clock (Asia/Karachi): `09:31:00`. */
export const formatTime = (ts: string): string => KARACHI_TIME.format(new Date(ts));
