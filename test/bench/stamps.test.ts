import { describe, expect, it } from 'vitest';
import { BurstStamper, recordStamps, StampSamples } from '../../bench/stamps.ts';

const frame = (...ts: string[]) => Buffer.from(JSON.stringify(ts.map((t) => ({ type: 'quote', ts: t }))));

describe('burst stamps', () => {
  it('gives every burst its own millisecond, even two in the same one', () => {
    const times = [1000.25, 1000.75, 1002.5];
    const stamper = new BurstStamper(() => times.shift()!);
    const stamps = [stamper.next(), stamper.next(), stamper.next()];
    expect(stamps.map((s) => s.key)).toEqual([1000, 1001, 1002]);
    expect(stamps[0]!.iso).toBe(new Date(1000).toISOString());
    expect(stamps[1]!.date.getTime()).toBe(1001);
    expect(stamper.table()).toEqual({ keys: [1000, 1001, 1002], times: [1000.25, 1000.75, 1002.5] });
  });

  it('times a delivery from the send time in the table, to the microsecond', () => {
    const key = Date.parse('2026-11-30T21:00:00.000Z');
    const samples = new StampSamples();
    recordStamps(samples, frame(new Date(key).toISOString()), key + 1.5);
    const { histogram, matched, total } = samples.histogram({ keys: [key], times: [key + 0.75] }, 0);
    expect([matched, total]).toEqual([1, 1]);
    // 0.75 ms, within the histogram's 1% buckets: the millisecond stamp alone would say 1.5.
    expect(histogram.percentile(0.5)).toBeGreaterThanOrEqual(0.75);
    expect(histogram.percentile(0.5)).toBeLessThan(0.77);
  });

  it('records one sample per run of equal stamps in a frame, weighted by deliveries', () => {
    const a = '2026-11-30T21:00:00.010Z';
    const b = '2026-11-30T21:00:00.020Z';
    const samples = new StampSamples();
    recordStamps(samples, frame(a, a, a, b, b), Date.parse(b) + 5);
    expect(samples.length).toBe(2);
    const { total, matched } = samples.histogram({ keys: [], times: [] }, 0);
    expect(total).toBe(5);
    expect(matched).toBe(0);
  });

  it('falls back to the millisecond stamp, and leaves out bursts sent before the warm-up ended', () => {
    const samples = new StampSamples();
    recordStamps(samples, frame('2026-11-30T21:00:00.000Z'), Date.parse('2026-11-30T21:00:00.004Z'));
    recordStamps(samples, frame('2026-11-30T21:00:01.000Z'), Date.parse('2026-11-30T21:00:01.002Z'));
    recordStamps(samples, frame('not a time, 24 bytes lon'), 0);
    const from = Date.parse('2026-11-30T21:00:00.500Z');
    const { histogram, total, matched } = samples.histogram({ keys: [], times: [] }, from);
    expect([total, matched]).toEqual([1, 0]);
    expect(histogram.percentile(0.5)).toBeCloseTo(2, 1);
  });

  it('drops samples past its capacity and counts them', () => {
    const samples = new StampSamples(2);
    for (let i = 0; i < 5; i++) samples.record(i, i + 1, 3);
    expect(samples.length).toBe(2);
    expect(samples.dropped).toBe(9);
  });
});
