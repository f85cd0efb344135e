import { describe, expect, it } from 'vitest';
import { RequestWindow } from '../../src/transport/request-window.ts';

describe('the request window', () => {
  it('admits the limit per second, flags the first excess once, and opens a new second', () => {
    const w = new RequestWindow({ maxRequestsPerSecond: 2, maxSymbols: 10 });
    expect([w.admit(0), w.admit(10), w.admit(20), w.admit(30)]).toEqual(['ok', 'ok', 'over', 'still_over']);
    expect(w.admit(1000)).toBe('ok');
  });

  it('charges the symbols named up to twice maxSymbols per second, refusing what does not fit', () => {
    const w = new RequestWindow({ maxRequestsPerSecond: 20, maxSymbols: 10 });
    w.admit(0);
    expect([w.charge(15), w.charge(6), w.charge(5)]).toEqual([true, false, true]);
    w.admit(1000);
    expect(w.charge(20)).toBe(true);
  });

  it('reaches the close bound after five seconds worth of strikes within ten seconds', () => {
    const w = new RequestWindow({ maxRequestsPerSecond: 2, maxSymbols: 10 });
    const strikes = Array.from({ length: 11 }, (_, i) => w.strike(i * 100));
    expect(strikes.slice(0, 10).every((s) => s === undefined)).toBe(true);
    expect(strikes[10]).toBe(11);
    expect(w.strike(20_000)).toBeUndefined();
  });
});
