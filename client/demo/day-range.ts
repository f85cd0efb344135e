import { formatPrice } from '../format.ts';
import type { Quote } from '../protocol/index.ts';

/** Where `price` sits in [low, high], from 0 to 1 (the middle for a day that has not moved). */
export const rangePosition = (low: number, high: number, price: number): number =>
  high > low ? Math.min(1, Math.max(0, (price - low) / (high - low))) : 0.5;

/** Fills a cell with the day's low–high bar, the price marked on it, and the range as text. */
export const fillDayRange = (cell: HTMLTableCellElement, q: Quote): void => {
  if (q.low === undefined || q.high === undefined) return void cell.replaceChildren();
  const bar = document.createElement('span');
  bar.className = 'range-bar';
  const mark = document.createElement('i');
  mark.style.left = `${(rangePosition(q.low, q.high, q.price) * 100).toFixed(1)}%`;
  bar.append(mark);
  const text = document.createElement('span');
  text.className = 'range-text';
  text.textContent = `${formatPrice(q.low)} – ${formatPrice(q.high)}`;
  cell.setAttribute(
    'aria-label',
    `Day range ${formatPrice(q.low)} to ${formatPrice(q.high)}, now ${formatPrice(q.price)}`,
  );
  cell.replaceChildren(bar, text);
};
