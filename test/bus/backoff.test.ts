import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay } from '../../src/bus/backoff.ts';

describe('backoffDelay', () => {
  it('doubles from 100 ms to a 5 s cap, jittered over the upper half of each step', () => {
    const low = (n: number) => backoffDelay(n, () => 0);
    const high = (n: number) => backoffDelay(n, () => 1);
    expect([0, 1, 2, 3, 4, 5, 6, 10].map(high)).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    expect([0, 1, 6].map(low)).toEqual([50, 100, 2500]);
  });
});

describe('Backoff', () => {
  it('stays failed once halted, whatever a success under way reports after', () => {
    const backoff = new Backoff(() => {});
    backoff.halt('fenced off');
    expect(backoff.succeed()).toBeUndefined();
    expect(backoff.fail('late error')).toBe(false);
    expect(backoff.waiting).toBe(false);
    expect(backoff.failure?.error).toBe('fenced off');
  });

  it('reports the first failure of a run once, and how long the run lasted', () => {
    const backoff = new Backoff(() => {});
    expect(backoff.fail('OOM')).toBe(true);
    expect(backoff.fail('OOM')).toBe(false);
    expect(backoff.waiting).toBe(true);
    backoff.cancel();
    expect(backoff.succeed()).toBeGreaterThanOrEqual(0);
    expect(backoff.failure).toBeUndefined();
  });
});
