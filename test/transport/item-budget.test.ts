import { describe, expect, it } from 'vitest';
import { ItemBudget, REQUEST_ITEMS, resumeCost } from '../../src/transport/item-budget.ts';

describe('the item budget per address', () => {
  const setup = (perSecond: number) => {
    let now = 0;
    const budget = new ItemBudget(perSecond, () => now);
    return { budget, at: (ms: number) => (now = ms) };
  };

  it('answers an address while it has an item left, charges the request and its answer, then says when to ask again', () => {
    const { budget, at } = setup(100);
    // A burst of two seconds' worth: 200 items, in answers of 90 and the request's 10.
    for (let i = 0; i < 2; i++) {
      expect(budget.retryAfterMs('198.51.100.1')).toBe(0);
      budget.charge('198.51.100.1', 100 - REQUEST_ITEMS);
    }
    expect(budget.retryAfterMs('198.51.100.1')).toBe(10);
    // One answer may take it into debt: a candle answer of 2,000 from 1 item left.
    at(10);
    expect(budget.retryAfterMs('198.51.100.1')).toBe(0);
    budget.charge('198.51.100.1', 2000);
    expect(budget.retryAfterMs('198.51.100.1')).toBe(20_100);
    expect(budget.refusal('198.51.100.1')).toEqual({
      retryAfterMs: 20_100,
      message:
        'this address was sent more than 100 items a second (quotes, candles, headlines, events): ask again in 21 s',
    });
    // Others are not touched, and the debt is paid back at the rate.
    expect(budget.retryAfterMs('198.51.100.2')).toBe(0);
    at(10 + 20_100);
    expect(budget.retryAfterMs('198.51.100.1')).toBe(0);
    // Never more than the burst, however long it waited.
    at(1_000_000);
    budget.charge('198.51.100.1', 200);
    expect(budget.retryAfterMs('198.51.100.1')).toBe(110);
  });

  it('counts a resume as the events it goes through and the messages it sends', () => {
    expect(resumeCost(5000, 1000, 30)).toBe(4030);
    // 1,000 patterns that match nothing still go through every event since.
    expect(resumeCost(5000, 1000, 0)).toBe(4000);
  });
});
