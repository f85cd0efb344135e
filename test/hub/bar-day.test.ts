import { describe, expect, it } from 'vitest';
import { BarDay } from '../../src/hub/bar-day.ts';
import { writeBar } from '../../src/bars/bar-row.ts';
import type { Bar } from '../../src/protocol/messages.ts';

const DAY = Date.parse('2023-11-08T19:00:00.000Z');
const OPEN = Date.parse('2023-11-09T04:30:00.000Z');
const minute = (k: number) => OPEN + k * 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** A closed 1m bar of one quote at `close`, at minute `k` of the session. */
const bar = (symbol: string, k: number, close: number): Bar => {
  const numbers = { open: close, high: close, low: close, close, updates: 1 };
  return { symbol, interval: '1m', start: iso(minute(k)), ...numbers, closed: true };
};

/** Appends `b` to `day` as the bar store does: its numbers from a row. */
const append = (day: BarDay, series: number, b: Bar, seq: number) => {
  const row = new Float64Array(6);
  writeBar(row, 0, b);
  day.append(series, row, 0, Date.parse(b.start), seq);
};

const closesOf = (day: BarDay, series: number, symbol: string) =>
  [...day.ofSeries(series)].map((i) => day.bar(i, symbol, '1m', iso).close);

describe('BarDay', () => {
  it("keeps each series' bars apart, in start order, though the series' appends interleave", () => {
    const day = new BarDay(DAY);
    for (let k = 0; k < 1500; k++) {
      append(day, 0, bar('A', k, 100 + k), 2 * k + 1);
      append(day, 5, bar('B', k, 200 + k), 2 * k + 2);
    }
    // Past one chunk of the log (1,024 bars): a series runs across chunks.
    expect(day.count).toBe(3000);
    expect(closesOf(day, 0, 'A')).toEqual(Array.from({ length: 1500 }, (_, k) => 100 + k));
    expect(closesOf(day, 5, 'B')).toEqual(Array.from({ length: 1500 }, (_, k) => 200 + k));
    expect(day.ofSeries(1)).toHaveLength(0);
    expect(day.lastSeq).toBe(3000);
  });

  it('takes a bar put late into its place, and a put of a held start replaces that bar', () => {
    const day = new BarDay(DAY);
    for (const k of [0, 2, 4]) append(day, 0, bar('A', k, 100 + k), k + 1);
    day.put(0, bar('A', 3, 103), minute(3), 10);
    day.put(0, bar('A', 1, 101), minute(1), 11);
    day.put(0, bar('A', 2, 999), minute(2), 12);
    expect(closesOf(day, 0, 'A')).toEqual([100, 101, 999, 103, 104]);
    expect(day.find(0, minute(2))).toBeGreaterThanOrEqual(0);
    expect(day.seqAt(day.find(0, minute(2)))).toBe(12);
    expect(day.find(0, minute(7))).toBe(-1);
  });

  it('groups the bars changed after a seq by series, each group in start order', () => {
    const day = new BarDay(DAY);
    append(day, 3, bar('B', 0, 1), 1);
    append(day, 0, bar('A', 0, 2), 2);
    append(day, 3, bar('B', 2, 3), 3);
    append(day, 0, bar('A', 1, 4), 4);
    day.put(3, bar('B', 1, 5), minute(1), 5);
    const { places, first } = day.changedAfter(2, 5);
    const group = (s: number) => [...places.subarray(first[s], first[s + 1])].map((i) => day.startAt(i));
    expect(group(0)).toEqual([minute(1)]);
    expect(group(3)).toEqual([minute(1), minute(2)]);
    expect(places).toHaveLength(3);
  });
});
