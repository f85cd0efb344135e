import { describe, expect, it } from 'vitest';
import { QuoteStore } from '../../client/index.ts';
import { QUOTE_FIELDS as WIRE_FIELDS } from '../../client/protocol/index.ts';
import { QUOTE_FIELDS } from '../../src/diff/changes.ts';
import type { Quote, QuoteMessage } from '../../src/protocol/messages.ts';

const quote = (over: Partial<Quote> = {}): Quote => ({
  symbol: 'HBL',
  kind: 'stock',
  price: 117.85,
  change: -0.08,
  changePercent: -0.07,
  direction: 'down',
  open: 117.5,
  high: 118,
  low: 117.2,
  prevClose: 117.93,
  v: 1,
  ts: '2023-11-09T04:31:00.000Z',
  ...over,
});
const delta = (over: Partial<QuoteMessage>): QuoteMessage => ({
  type: 'quote',
  seq: 10,
  symbol: 'HBL',
  v: 2,
  ts: '2023-11-09T04:31:30.000Z',
  ...over,
});

describe('QuoteStore', () => {
  it('applies a delta that skips versions (conflated) onto the whole quote', () => {
    const store = new QuoteStore();
    store.replace([quote()]);
    const result = store.apply(
      delta({ v: 5, price: 118, change: 0.07, changePercent: 0.06, direction: 'up' }),
    );
    expect(result).toMatchObject({
      type: 'applied',
      changed: ['price', 'change', 'changePercent', 'direction'],
    });
    expect(store.get('HBL')).toEqual(
      quote({
        v: 5,
        price: 118,
        change: 0.07,
        changePercent: 0.06,
        direction: 'up',
        ts: '2023-11-09T04:31:30.000Z',
      }),
    );
  });

  it('ignores a version it already holds', () => {
    const store = new QuoteStore();
    store.replace([quote({ v: 3 })]);
    expect(store.apply(delta({ v: 3, price: 1 }))).toEqual({ type: 'stale' });
    expect(store.get('HBL')?.price).toBe(117.85);
  });

  it('reports a gap for a partial delta of a symbol it holds nothing for, and keeps nothing', () => {
    const store = new QuoteStore();
    expect(store.apply(delta({ symbol: 'NEW', price: 2 }))).toEqual({ type: 'gap' });
    expect(store.get('NEW')).toBeUndefined();
  });

  it('adds a new symbol from a delta that carries every field', () => {
    const store = new QuoteStore();
    const { type: _t, seq: _s, ...full } = delta({ ...quote({ symbol: 'NEW' }), v: 1 });
    store.apply(delta({ ...full }));
    expect(store.get('NEW')).toEqual({ ...full });
  });

  it('replace drops what a snapshot no longer holds; merge keeps it', () => {
    const store = new QuoteStore();
    store.replace([quote(), quote({ symbol: 'BOP' })]);
    store.merge([quote({ symbol: 'AIRLINK' })]);
    expect(store.all().map((q) => q.symbol)).toEqual(['AIRLINK', 'BOP', 'HBL']);
    store.replace([quote({ symbol: 'KEL' })]);
    expect(store.all().map((q) => q.symbol)).toEqual(['KEL']);
  });

  it('knows every field the server diffs', () => {
    expect(WIRE_FIELDS).toEqual(QUOTE_FIELDS);
  });
});
