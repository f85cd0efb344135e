import { describe, expect, it } from 'vitest';
import { SnapshotThrottle } from '../../src/bus/snapshot-throttle.ts';

describe('the snapshot throttle', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('writes one at start, then after the interval once events went out without one', () => {
    const c = clock();
    const throttle = new SnapshotThrottle(10, 1000, 100_000, c.now);
    expect(throttle.wants(10)).toBe(true);
    throttle.written(10);
    expect(throttle.wants(13)).toBe(false);
    expect(throttle.dueIn(13)).toBe(1000);
    c.advance(999);
    expect(throttle.wants(13)).toBe(false);
    c.advance(1);
    expect(throttle.wants(13)).toBe(true);
    throttle.written(13);
    // A quiet feed owes nothing, however long it stays quiet.
    c.advance(60_000);
    expect(throttle.wants(13)).toBe(false);
    expect(throttle.dueIn(13)).toBeUndefined();
  });

  it('writes one every 1,000 events, or every half of a short stream, whatever the time', () => {
    const throttle = new SnapshotThrottle(0, 3_600_000, 100_000, clock().now);
    throttle.written(0);
    expect(throttle.wants(999)).toBe(false);
    expect(throttle.wants(1000)).toBe(true);
    const short = new SnapshotThrottle(0, 3_600_000, 10, clock().now);
    short.written(0);
    expect(short.wants(4)).toBe(false);
    expect(short.wants(5)).toBe(true);
  });

  it('writes one when forced (reconnect, re-seed, clean stop)', () => {
    const throttle = new SnapshotThrottle(5, 3_600_000, 100_000, clock().now);
    throttle.written(5);
    expect(throttle.wants(5)).toBe(false);
    throttle.force();
    expect(throttle.forced).toBe(true);
    expect(throttle.wants(5)).toBe(true);
  });
});
