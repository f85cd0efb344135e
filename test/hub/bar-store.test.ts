import { describe, expect, it } from 'vitest';
import { BarStore } from '../../src/hub/bar-store.ts';
import type { Bar, BarInterval } from '../../src/protocol/messages.ts';

const bar = (interval: BarInterval, start: string, close: number, updates = 1): Bar => ({
  symbol: 'AIRLINK',
  interval,
  start,
  open: 80,
  high: Math.max(80, close),
  low: Math.min(80, close),
  close,
  updates,
  closed: false,
});
const DAY1 = '2023-11-09T04:30:00.000Z';
const DAY2 = '2023-11-10T04:30:00.000Z';
const DAY3 = '2023-11-13T04:30:00.000Z';

describe('BarStore', () => {
  it('answers every reader with the version the last put left, however often a bar was revised', () => {
    const store = new BarStore(5);
    for (let k = 1; k <= 4; k++) store.put([bar('1m', DAY1, 80 + k, k), bar('5m', DAY1, 80 + k, k)], k);
    const latest = [bar('1m', DAY1, 84, 4), bar('5m', DAY1, 84, 4)];
    expect(store.export()).toEqual({ bars: latest, seqs: [4, 4] });
    expect(store.query({ interval: '5m', from: DAY1 })).toEqual([latest[1]]);
    const changed: [Bar, number][] = [];
    store.changedSince(
      3,
      () => true,
      (b, seq) => changed.push([b, seq]),
    );
    expect(changed).toEqual([
      [latest[0], 4],
      [latest[1], 4],
    ]);
  });

  it('keeps the last N trading days: a new day drops the oldest, and a late change to it is not held', () => {
    const store = new BarStore(2);
    store.put([bar('1m', DAY1, 81)], 1);
    store.put([bar('1m', DAY2, 82)], 2);
    store.put([bar('1m', DAY3, 83)], 3);
    store.put([bar('1m', DAY1, 90, 2)], 4);
    store.put([bar('1m', DAY3, 84, 2)], 5);
    expect(store.all()).toEqual([bar('1m', DAY2, 82), bar('1m', DAY3, 84, 2)]);
    expect(store.latestDay).toBe('2023-11-13');
  });
});
