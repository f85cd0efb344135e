import { describe, expect, it } from 'vitest';
import { keyOf } from '../../src/transport/interest.ts';
import { SubscriberIndex } from '../../src/transport/subscriber-index.ts';

const receivers = (index: SubscriberIndex<string>, symbol: string) => {
  const seen: string[] = [];
  index.forQuote(symbol, (m) => seen.push(m));
  return seen.sort();
};

describe('SubscriberIndex', () => {
  it('reaches a subscriber by name, by prefix pattern and by all, once each however they overlap', () => {
    const index = new SubscriberIndex<string>();
    index.setQuoteKeys('named', ['OGDC', 'HBL'].map(keyOf));
    index.setQuoteKeys('pattern', ['OGDC*'].map(keyOf));
    index.setQuoteKeys('everything', ['*'].map(keyOf));
    index.setQuoteKeys('overlap', ['OGDC', 'OG*', 'OGDC*', '*'].map(keyOf));
    expect(receivers(index, 'OGDC')).toEqual(['everything', 'named', 'overlap', 'pattern']);
    expect(receivers(index, 'OGDC-MAY')).toEqual(['everything', 'overlap', 'pattern']);
    expect(receivers(index, 'HBL')).toEqual(['everything', 'named', 'overlap']);
    expect(receivers(index, 'OG')).toEqual(['everything', 'overlap']);
  });

  it('forgets the old keys when they are replaced, and the member when removed', () => {
    const index = new SubscriberIndex<string>();
    index.setQuoteKeys('a', ['OGDC*'].map(keyOf));
    index.setQuoteKeys('a', ['HBL'].map(keyOf));
    expect(receivers(index, 'OGDC')).toEqual([]);
    expect(receivers(index, 'HBL')).toEqual(['a']);
    index.remove('a');
    expect(receivers(index, 'HBL')).toEqual([]);
    expect(index.quoteSubscribers).toBe(0);
  });
});
