import type { Direction, QuoteKind } from '../src/protocol/messages.ts';

/** A quote in the integer minor units the site formats from: `price 8060, scale 2` is 80.60. */
export interface SiteQuote {
  symbol: string;
  kind: QuoteKind;
  /** Price and change in units of 10^-scale; the change is signed. */
  priceUnits: number;
  changeUnits: number;
  scale: number;
  direction: Direction;
}

/** `1234567` at scale 2 as `12,345.67` (grouped) or `12345.67`. */
export const formatUnits = (units: number, scale: number, grouped: boolean): string => {
  const digits = String(Math.abs(units)).padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  const shownWhole = grouped ? whole.replace(/\B(?=(\d{3})+$)/g, ',') : whole;
  return `${units < 0 ? '-' : ''}${shownWhole}${scale > 0 ? `.${fraction}` : ''}`;
};

/** The change percent as the site shows it: two decimals, trailing zeros dropped (`1.5`, `0`, `-5`). */
export const sitePercent = (q: SiteQuote): string => {
  const previous = q.priceUnits - q.changeUnits;
  if (q.changeUnits === 0 || previous <= 0) return '0';
  // Hundredths of a percent, rounded half away from zero in integers, then shown without trailing zeros.
  const hundredths = Math.round((Math.abs(q.changeUnits) * 10_000) / previous) * Math.sign(q.changeUnits);
  return String(hundredths / 100);
};

/**
 * One ticker line the way the PSX ticker writes it: stocks with ▲/▼ and a signed change,
 * `No Change ▼ 0.00 (0%)`, indices with thousands separators and no arrow.
 * @example formatQuoteLine({ symbol: 'BOP', kind: 'stock', priceUnits: 526, changeUnits: -7, scale: 2, direction: 'down' })
 */
export const formatQuoteLine = (q: SiteQuote): string => {
  const index = q.kind === 'index';
  const move =
    q.direction === 'up' ? 'Increased By ▲' : q.direction === 'down' ? 'Decreased By ▼' : 'No Change ▼';
  const phrase = index ? move.slice(0, -2) : move;
  const price = formatUnits(q.priceUnits, q.scale, index);
  const change = formatUnits(q.changeUnits, q.scale, index);
  return `${q.symbol} ${price} ${phrase} ${change} (${sitePercent(q)}%)`;
};

const STOCKS = [
  'AIRLINK',
  'BOP',
  'CNERGY',
  'DGKC',
  'HUBC',
  'OGDC',
  'OGDC-MAY',
  'PPL',
  'TRG',
  'WTL',
  'PSX-R1',
];
const INDICES = ['KSE100', 'KSE30', 'KMI30', 'ALLSHR', 'BR100', 'BR30'];
const STORY = [
  'SEOUL: US Secretary of State Antony Blinken on Thursday condemned North Korea for sending arms to help the Russian invasion of Ukraine.',
  'Blinken calls for G7 ‘clear voice’ on Gaza',
  'The United States, South Korea and Japan have in recent weeks repeatedly criticised Pyongyang for helping Russia.',
  '“This visit is designed to do that.”',
  'Comments',
  '200 characters',
];

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** A random quote with a consistent percent; a third up, a third down, some unchanged. */
export const randomSiteQuote = (): SiteQuote => {
  const index = Math.random() < 0.15;
  const scale = index ? (Math.random() < 0.5 ? 0 : 2) : 2;
  const priceUnits = index
    ? 5_000 * 10 ** scale + Math.floor(Math.random() * 10 ** (6 + scale))
    : 100 + Math.floor(Math.random() * 50_000);
  const roll = Math.random();
  const direction: Direction = roll < 0.45 ? 'up' : roll < 0.9 ? 'down' : 'unchanged';
  const size = direction === 'unchanged' ? 0 : 1 + Math.floor((Math.random() * priceUnits) / 20);
  return {
    symbol: pick(index ? INDICES : STOCKS),
    kind: index ? 'index' : 'stock',
    priceUnits,
    changeUnits: direction === 'down' ? -size : size,
    scale,
    direction,
  };
};

/**
 * A feed of about `lines` lines in the seed's shape: frames of ticker lines with a news story
 * every tenth frame, and a few lines with the whitespace a scrape carries (tabs, NBSP, CRLF).
 */
export const generateFeed = (lines: number): string => {
  const out: string[] = [];
  for (let frame = 0; out.length < lines; frame++) {
    for (let i = 0; i < 40; i++) {
      const line = formatQuoteLine(randomSiteQuote());
      const roll = Math.random();
      out.push(
        roll < 0.02
          ? line.replace(' ', '\t')
          : roll < 0.04
            ? line.replace(' ', '\u00a0')
            : roll < 0.06
              ? `${line} \r`
              : line,
      );
    }
    out.push('');
    if (frame % 10 === 0) for (const paragraph of STORY) out.push(paragraph, '');
  }
  return out.slice(0, lines).join('\n');
};
