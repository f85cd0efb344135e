import { describe, expect, it } from 'vitest';
import type { QuoteMessage } from '../../src/protocol/messages.ts';
import { Conflator } from '../../src/transport/conflator.ts';

const quote = (symbol: string, seq: number, price: number) =>
  ({ type: 'quote', seq, symbol, price }) as unknown as QuoteMessage;

describe('the conflator', () => {
  it('merges deltas per symbol, counts the merges and releases a notice, the kept items, then the deltas in seq order', () => {
    let merges = 0;
    const c = new Conflator(0, () => merges++);
    const kept = c.absorb([{ json: '"q"', message: quote('B', 1, 1) }, { json: '"headline"' }]);
    expect(kept.map((o) => o.json)).toEqual(['"headline"']);
    c.add(quote('A', 2, 5));
    c.add(quote('B', 3, 2));
    expect([merges, c.conflated]).toEqual([1, 1]);
    const out = c.release([{ json: '"status"' }], () => true);
    expect(JSON.parse(out[0]!.json)).toEqual({
      type: 'notice',
      code: 'slow_consumer',
      policy: 'conflate',
      conflated: 1,
    });
    expect(out[1]!.json).toBe('"status"');
    expect(out.slice(2).map((o) => [o.message?.seq, (o.message as QuoteMessage).symbol])).toEqual([
      [2, 'A'],
      [3, 'B'],
    ]);
  });

  it('drops the held deltas of symbols no longer wanted', () => {
    const c = new Conflator(0, () => {});
    c.add(quote('A', 1, 1));
    c.add(quote('B', 2, 1));
    const out = c.release([], (s) => s === 'B');
    expect(out.slice(1).map((o) => (o.message as QuoteMessage).symbol)).toEqual(['B']);
  });
});
