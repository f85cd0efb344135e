import type { Bar } from '../protocol/index.ts';
import { formatPrice } from '../format.ts';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 56;
const HEIGHT = 16;

// The client package carries no server code: Asia/Karachi is UTC+5 all year, so its date is
// the UTC date five hours on (the server's rule: src/bars/karachi-time.ts).
const tradingDay = (ms: number): string => new Date(ms + 5 * 3_600_000).toISOString().slice(0, 10);

/** The closes of the latest trading day among `bars` (5m bars of one symbol, oldest first). */
export const dayCloses = (bars: readonly Bar[]): number[] => {
  const last = bars.at(-1);
  if (!last) return [];
  const day = tradingDay(Date.parse(last.start));
  return bars.filter((b) => tradingDay(Date.parse(b.start)) === day).map((b) => b.close);
};

/** The points of a line through `values`, scaled into the sparkline's box. */
export const sparkPoints = (values: readonly number[]): string => {
  const low = Math.min(...values);
  const span = Math.max(...values) - low || 1;
  const step = values.length > 1 ? WIDTH / (values.length - 1) : 0;
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(HEIGHT - 1 - ((v - low) / span) * (HEIGHT - 2)).toFixed(1)}`)
    .join(' ');
};

/**
 * An inline SVG of the day's closes, labelled for screen readers with the day's range
 * ("AIRLINK today: 79.41 to 81.10", in the tape's number format); empty (and hidden) until the
 * symbol has a bar.
 */
export const sparkline = (
  symbol: string,
  closes: readonly number[],
  price: (n: number) => string = formatPrice,
): SVGSVGElement => {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('width', String(WIDTH));
  svg.setAttribute('height', String(HEIGHT));
  if (closes.length === 0) {
    svg.setAttribute('aria-hidden', 'true');
    return svg;
  }
  svg.setAttribute('role', 'img');
  svg.setAttribute(
    'aria-label',
    `${symbol} today: ${price(Math.min(...closes))} to ${price(Math.max(...closes))}`,
  );
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute(
    'points',
    closes.length > 1 ? sparkPoints(closes) : `0,${HEIGHT / 2} ${WIDTH},${HEIGHT / 2}`,
  );
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', 'currentColor');
  line.setAttribute('stroke-width', '1.25');
  svg.append(line);
  return svg;
};
