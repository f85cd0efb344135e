import { describe, expect, it } from 'vitest';
import type { Change } from '../../src/diff/changes.ts';
import { Hub, type HubOptions, type HubState, type Interest } from '../../src/hub/hub.ts';
import type { Bar, BarInterval, EventMessage } from '../../src/protocol/messages.ts';

const T0 = '2023-11-09T04:30:00.000Z';
const T1 = '2023-11-09T04:31:00.000Z';
const bar = (interval: BarInterval, start: string, close: number, closed = false): Bar => ({
  symbol: 'AIRLINK',
  interval,
  start,
  open: 80,
  high: Math.max(80, close),
  low: Math.min(80, close),
  close,
  updates: close - 79,
  closed,
});
const bars = (...list: Bar[]): Change => ({ type: 'bars', symbol: 'AIRLINK', bars: list });
const quote = (price: number): Change => ({ type: 'quote', symbol: 'AIRLINK', ts: T1, fields: { price } });
const candlesOf = (...intervals: BarInterval[]): Interest => ({
  wantsQuote: () => false,
  wantsHeadlines: false,
  wantsCandle: (_symbol, interval) => intervals.includes(interval),
});
const hubWith = (options: Partial<HubOptions> = {}) =>
  new Hub({ history: { size: 1000, ageMs: 60_000 }, headlineCount: 50, epoch: 'E', ...options });
const resumed = (hub: Hub, seq: number, interest: Interest): EventMessage[] | false => {
  const result = hub.resume({ epoch: 'E', seq }, interest);
  return result.recovered && result.messages;
};

/** seq 1: 1m and 5m open; 2: a quote; 3: both change; 4: the 1m bar closes; 5: the next 1m bar opens. */
const fiveEvents = (hub: Hub) => {
  hub.apply(bars(bar('1m', T0, 80), bar('5m', T0, 80)));
  hub.apply(quote(81));
  hub.apply(bars(bar('1m', T0, 81), bar('5m', T0, 81)));
  hub.apply(bars(bar('1m', T0, 81, true)));
  hub.apply(bars(bar('1m', T1, 82), bar('5m', T0, 82)));
};

describe('Hub candle resume', () => {
  it('gives the latest version of every bar changed after since, with the seq that last changed it', () => {
    const hub = hubWith();
    fiveEvents(hub);
    expect(resumed(hub, 0, candlesOf('1m'))).toEqual([
      { type: 'candle', seq: 4, ...bar('1m', T0, 81, true) },
      { type: 'candle', seq: 5, ...bar('1m', T1, 82) },
    ]);
    expect(resumed(hub, 4, candlesOf('1m'))).toEqual([{ type: 'candle', seq: 5, ...bar('1m', T1, 82) }]);
    expect(resumed(hub, 5, candlesOf('1m'))).toEqual([]);
  });

  it('gives every bar of one change to a subscriber just before it, and none to one at it', () => {
    const hub = hubWith();
    fiveEvents(hub);
    // Event 3 changed the 1m and 5m bars under one seq; event 4 then replaced the 1m one.
    expect(resumed(hub, 2, candlesOf('1m', '5m'))).toEqual([
      { type: 'candle', seq: 4, ...bar('1m', T0, 81, true) },
      { type: 'candle', seq: 5, ...bar('1m', T1, 82) },
      { type: 'candle', seq: 5, ...bar('5m', T0, 82) },
    ]);
    const hub3 = hubWith();
    hub3.apply(bars(bar('1m', T0, 80), bar('5m', T0, 80)));
    hub3.apply(bars(bar('1m', T0, 81), bar('5m', T0, 81)));
    expect(resumed(hub3, 1, candlesOf('1m', '5m'))).toEqual([
      { type: 'candle', seq: 2, ...bar('1m', T0, 81) },
      { type: 'candle', seq: 2, ...bar('5m', T0, 81) },
    ]);
    expect(resumed(hub3, 2, candlesOf('1m', '5m'))).toEqual([]);
  });

  it('keeps bars events out of history, so they do not push quotes out of it', () => {
    const hub = hubWith({ history: { size: 2, ageMs: 60_000 } });
    hub.apply(quote(81));
    fiveEvents(hub);
    const got = resumed(hub, 0, { ...candlesOf('5m'), wantsQuote: () => true });
    expect(got && got.map((m) => `${m.type} ${m.seq}`)).toEqual(['quote 3', 'candle 6']);
  });

  it('resumes candles across a restore, from the saved bar seqs or else the bars events of history', () => {
    const hub = hubWith();
    fiveEvents(hub);
    const saved: HubState = JSON.parse(JSON.stringify(hub.exportState()));
    const restored = hubWith({ epoch: 'X' });
    restored.restore(saved);
    for (const seq of [1, 2, 3, 4, 5])
      expect(resumed(restored, seq, candlesOf('1m', '5m'))).toEqual(resumed(hub, seq, candlesOf('1m', '5m')));

    // A state saved before bars left history: its history holds the bars events.
    const legacy = hubWith({ epoch: 'X' });
    legacy.restore({
      ...saved,
      barSeqs: undefined,
      history: [
        { type: 'bars', seq: 3, symbol: 'AIRLINK', bars: [bar('1m', T0, 81), bar('5m', T0, 81)] },
        { type: 'bars', seq: 4, symbol: 'AIRLINK', bars: [bar('1m', T0, 81, true)] },
        { type: 'bars', seq: 5, symbol: 'AIRLINK', bars: [bar('1m', T1, 82), bar('5m', T0, 82)] },
      ],
    });
    for (const seq of [2, 3, 4, 5])
      expect(resumed(legacy, seq, candlesOf('1m', '5m'))).toEqual(resumed(hub, seq, candlesOf('1m', '5m')));
    expect(resumed(legacy, 1, candlesOf('1m'))).toBe(false);
  });
});
