import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { diffQuotes } from '../../src/diff/diff-quotes.ts';
import type { DayQuote } from '../../src/bars/day-fields.ts';

// Day fields are held still here so each case shows one kind of change; test/bars covers them.
const DAY = { open: 1, high: 1, low: 1, prevClose: 0 };
const q = (price: number, extra: Partial<DayQuote> = {}): DayQuote => ({
  symbol: 'AIRLINK',
  kind: 'stock',
  price,
  change: 1,
  changePercent: 1,
  direction: 'up',
  ts: 't',
  ...DAY,
  ...extra,
});
const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('diffQuotes', () => {
  it('emits a new symbol in full, then only the fields that changed, and nothing for an unchanged value', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a-b-c|', { a: q(1), b: q(1), c: q(2, { change: 2 }) });
      expectObservable(src.pipe(diffQuotes())).toBe('a---c|', {
        a: {
          type: 'quote',
          symbol: 'AIRLINK',
          ts: 't',
          fields: { kind: 'stock', price: 1, change: 1, changePercent: 1, direction: 'up', ...DAY },
        },
        c: { type: 'quote', symbol: 'AIRLINK', ts: 't', fields: { price: 2, change: 2 } },
      });
    });
  });

  it('carries kind and direction when they change, like any other field', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a-b|', { a: q(1), b: q(1, { kind: 'index', direction: 'down' }) });
      expectObservable(src.pipe(diffQuotes())).toBe('a-b|', {
        a: expect.objectContaining({ symbol: 'AIRLINK' }),
        b: { type: 'quote', symbol: 'AIRLINK', ts: 't', fields: { kind: 'index', direction: 'down' } },
      });
    });
  });

  it('keeps each symbol apart', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('ab|', { a: q(1), b: q(1, { symbol: 'BOP' }) });
      expectObservable(src.pipe(diffQuotes())).toBe('ab|', {
        a: expect.objectContaining({ symbol: 'AIRLINK' }),
        b: expect.objectContaining({ symbol: 'BOP' }),
      });
    });
  });

  it('does not announce again what the seed already holds', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const seed = new Map([
        [
          'AIRLINK',
          { kind: 'stock' as const, price: 1, change: 1, changePercent: 1, direction: 'up' as const, ...DAY },
        ],
      ]);
      expectObservable(cold('a|', { a: q(1) }).pipe(diffQuotes(seed))).toBe('-|');
    });
  });

  it('starts from the seed again for each subscriber', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const diffed = cold('a|', { a: q(1) }).pipe(diffQuotes());
      expectObservable(diffed).toBe('a|', { a: expect.objectContaining({ symbol: 'AIRLINK' }) });
      expectObservable(diffed).toBe('a|', { a: expect.objectContaining({ symbol: 'AIRLINK' }) });
    });
  });

  it('leaves the seed as it was: a second subscriber starts from the same values', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const values = {
        kind: 'stock' as const,
        price: 1,
        change: 1,
        changePercent: 1,
        direction: 'up' as const,
      };
      const seed = new Map([['AIRLINK', { ...values, ...DAY }]]);
      const diffed = cold('a|', { a: q(2) }).pipe(diffQuotes(seed));
      const changed = { type: 'quote', symbol: 'AIRLINK', ts: 't', fields: { price: 2 } };
      expectObservable(diffed).toBe('a|', { a: changed });
      expectObservable(diffed).toBe('a|', { a: changed });
      expect(seed.get('AIRLINK')!.price).toBe(1);
    });
  });
});
