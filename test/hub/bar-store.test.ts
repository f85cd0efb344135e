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

describe('BarStore series', () => {
  const minute = (k: number) => new Date(Date.parse(DAY1) + k * 60_000).toISOString();

  it('holds a day of bars in start order however they come, each with its own seq', () => {
    const store = new BarStore(5);
    // Twenty bars, the even minutes first, then the odd ones between them, then one revised.
    const order = [
      ...Array.from({ length: 10 }, (_, k) => 2 * k),
      ...Array.from({ length: 10 }, (_, k) => 2 * k + 1),
    ];
    order.forEach((k, seq) => store.put([bar('1m', minute(k), 80 + k)], seq + 1));
    store.put([bar('1m', minute(7), 99, 2)], 21);
    const held = store.query({ interval: '1m', from: DAY1 });
    expect(held.map((b) => b.start)).toEqual(Array.from({ length: 20 }, (_, k) => minute(k)));
    expect(held.map((b) => b.close)).toEqual(Array.from({ length: 20 }, (_, k) => (k === 7 ? 99 : 80 + k)));
    const seqs: number[] = [];
    store.changedSince(
      19,
      () => true,
      (b, seq) => seqs.push(Date.parse(b.start), seq),
    );
    expect(seqs).toEqual([Date.parse(minute(7)), 21, Date.parse(minute(19)), 20]);
  });
});
