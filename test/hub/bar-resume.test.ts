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
/** A bars event (a close, or one from before quotes folded into bars in the hub) stamped next. */
const putBars = (hub: Hub, ...list: Bar[]) => hub.accept({ type: 'bars', seq: hub.seq + 1, bars: list });
// Another symbol's quote: an event between the bars events that changes none of AIRLINK's bars
// (and closes none: its time is inside the first minute).
const quote = (price: number): Change => ({
  type: 'quote',
  symbol: 'HBL',
  ts: '2023-11-09T04:30:30.000Z',
  fields: { price },
});
const candlesOf = (...intervals: BarInterval[]): Interest => ({
  wantsQuote: () => false,
  wantsHeadlines: false,
  wantsCandle: (symbol, interval) => symbol === 'AIRLINK' && intervals.includes(interval),
});
const hubWith = (options: Partial<HubOptions> = {}) =>
  new Hub({ history: { size: 1000, ageMs: 60_000 }, headlineCount: 50, epoch: 'E', barDays: 5, ...options });
const resumed = (hub: Hub, seq: number, interest: Interest): EventMessage[] | false => {
  const result = hub.resume({ epoch: 'E', seq }, interest);
  return result.recovered && result.messages;
};

/** seq 1: 1m and 5m open; 2: a quote; 3: both change; 4: the 1m bar closes; 5: the next 1m bar opens. */
const fiveEvents = (hub: Hub) => {
  putBars(hub, bar('1m', T0, 80), bar('5m', T0, 80));
  hub.apply(quote(81));
  putBars(hub, bar('1m', T0, 81), bar('5m', T0, 81));
  putBars(hub, bar('1m', T0, 81, true));
  putBars(hub, bar('1m', T1, 82), bar('5m', T0, 82));
};

describe('Hub candle resume', () => {
  it('gives the latest version of every bar changed at or after since, with the seq that last changed it', () => {
    const hub = hubWith();
    fiveEvents(hub);
    expect(resumed(hub, 0, candlesOf('1m'))).toEqual([
      { type: 'candle', seq: 4, ...bar('1m', T0, 81, true) },
      { type: 'candle', seq: 5, ...bar('1m', T1, 82) },
    ]);
    expect(resumed(hub, 4, candlesOf('1m'))).toEqual([
      { type: 'candle', seq: 4, ...bar('1m', T0, 81, true) },
      { type: 'candle', seq: 5, ...bar('1m', T1, 82) },
    ]);
    expect(resumed(hub, 5, candlesOf('1m'))).toEqual([{ type: 'candle', seq: 5, ...bar('1m', T1, 82) }]);
  });

  it('gives every bar of one change to a subscriber before it or at it, nothing to one past it', () => {
    const hub = hubWith();
    fiveEvents(hub);
    // Event 3 changed the 1m and 5m bars under one seq; event 4 then replaced the 1m one.
    expect(resumed(hub, 2, candlesOf('1m', '5m'))).toEqual([
      { type: 'candle', seq: 4, ...bar('1m', T0, 81, true) },
      { type: 'candle', seq: 5, ...bar('1m', T1, 82) },
      { type: 'candle', seq: 5, ...bar('5m', T0, 82) },
    ]);
    const hub3 = hubWith();
    putBars(hub3, bar('1m', T0, 80), bar('5m', T0, 80));
    putBars(hub3, bar('1m', T0, 81), bar('5m', T0, 81));
    expect(resumed(hub3, 1, candlesOf('1m', '5m'))).toEqual([
      { type: 'candle', seq: 2, ...bar('1m', T0, 81) },
      { type: 'candle', seq: 2, ...bar('5m', T0, 81) },
    ]);
    expect(resumed(hub3, 2, candlesOf('1m', '5m'))).toEqual(resumed(hub3, 1, candlesOf('1m', '5m')));
    hub3.apply(quote(90));
    expect(resumed(hub3, 3, candlesOf('1m', '5m'))).toEqual([]);
  });

  it("gives a quote's candles again to a client whose last event was the quote", () => {
    // The candles follow their quote on the wire at its seq: a client cut off between the two
    // resumes at the quote's seq and must still get them.
    const hub = hubWith();
    hub.apply(quote(90));
    hub.apply(quote(91));
    const atQuote = resumed(hub, 2, { ...candlesOf('1m'), wantsCandle: (s, i) => s === 'HBL' && i === '1m' });
    expect(atQuote).toEqual([
      {
        type: 'candle',
        seq: 2,
        symbol: 'HBL',
        interval: '1m',
        start: T0,
        open: 90,
        high: 91,
        low: 90,
        close: 91,
        updates: 2,
        closed: false,
      },
    ]);
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
        { type: 'bars', seq: 3, bars: [bar('1m', T0, 81), bar('5m', T0, 81)] },
        { type: 'bars', seq: 4, bars: [bar('1m', T0, 81, true)] },
        { type: 'bars', seq: 5, bars: [bar('1m', T1, 82), bar('5m', T0, 82)] },
      ],
    });
    for (const seq of [2, 3, 4, 5])
      expect(resumed(legacy, seq, candlesOf('1m', '5m'))).toEqual(resumed(hub, seq, candlesOf('1m', '5m')));
    expect(resumed(legacy, 1, candlesOf('1m'))).toBe(false);
  });
});
