import { TestScheduler } from 'rxjs/testing';
import {
  from,
  merge,
  mergeMap,
  lastValueFrom,
  Subject,
  take,
  tap,
  toArray,
  VirtualAction,
  VirtualTimeScheduler,
} from 'rxjs';
import { describe, expect, it } from 'vitest';
import { withBarClock } from '../../src/bars/bar-clock.ts';
import { feedClock } from '../../src/bars/feed-clock.ts';
import type { Change, QuoteChange } from '../../src/diff/changes.ts';
import { Hub, publishTo, type HubState } from '../../src/hub/hub.ts';
import { feedChanges, frameTime } from '../../src/pipeline.ts';
import { BAR_INTERVALS, type Bar, type HubMessage } from '../../src/protocol/messages.ts';
import { readFeed } from '../../src/source/feed-file.ts';
import { BUNDLED_FEED } from '../../src/source/options.ts';
import { loopShiftMs, replay } from '../../src/source/replay.ts';

const frames = readFeed(BUNDLED_FEED);
const HOUR = 3_600_000;

/** The latest version of every bar, keyed by symbol, interval and start. */
const finalBars = (bars: Bar[]): Map<string, Bar> =>
  new Map(bars.map((b) => [`${b.symbol} ${b.interval} ${b.start}`, b]));

const hubWith = () =>
  new Hub({ history: { size: 100_000, ageMs: 24 * HOUR }, headlineCount: 50, epoch: 'E', barDays: 5 });

/** Every change through a new hub; returns it and the events it stamped. */
const publish = async (changes: Change[], hub = hubWith()) => {
  const events: HubMessage[] = [];
  const sub = hub.messages$.subscribe((m) => events.push(m));
  await lastValueFrom(from(changes).pipe(publishTo(hub)), { defaultValue: undefined });
  sub.unsubscribe();
  return { hub, events };
};

const quotesIn = async (): Promise<QuoteChange[]> =>
  (await lastValueFrom(from(frames).pipe(feedChanges(), toArray()))).filter(
    (c): c is QuoteChange => c.type === 'quote',
  );

/**
 * The obvious fold: every quote change's price (the last one seen when it carries none) falls
 * in the bar whose start is its time rounded down to the interval, counted from midnight in
 * Karachi (UTC+05:00, written out here rather than taken from the code under test).
 */
const expectedBars = (quotes: QuoteChange[], clockEnd: number): Map<string, Bar> => {
  const lengths = { '1m': 1, '5m': 5, '15m': 15, '1h': 60, '1d': 1440 };
  const price = new Map<string, number>();
  const bars = new Map<string, Bar>();
  for (const q of quotes) {
    const p = q.fields.price ?? price.get(q.symbol)!;
    price.set(q.symbol, p);
    for (const interval of BAR_INTERVALS) {
      const len = lengths[interval] * 60_000;
      const localMs = Date.parse(q.ts) + 5 * HOUR;
      const start = new Date(localMs - (localMs % len) - 5 * HOUR).toISOString();
      const key = `${q.symbol} ${interval} ${start}`;
      const bar = bars.get(key);
      if (!bar)
        bars.set(key, {
          symbol: q.symbol,
          interval,
          start,
          open: p,
          high: p,
          low: p,
          close: p,
          updates: 1,
          closed: false,
        });
      else
        bars.set(key, {
          ...bar,
          high: Math.max(bar.high, p),
          low: Math.min(bar.low, p),
          close: p,
          updates: bar.updates + 1,
        });
    }
  }
  for (const [key, bar] of bars)
    bars.set(key, { ...bar, closed: Date.parse(bar.start) + lengths[bar.interval] * 60_000 <= clockEnd });
  return bars;
};

/**
 * Runs the replay through parse → diff → the feed's clock → a hub in virtual time until
 * `horizonMs` (scheduler time); returns every bar the hub then holds.
 */
const runReplay = (speed: number, loop: boolean, horizonMs: number, count = frames.length): Bar[] => {
  const scheduler = new VirtualTimeScheduler(VirtualAction, horizonMs);
  const feedTimes = new Subject<number>();
  const hub = hubWith();
  const sub = replay(frames, { speed, intervalMs: 1000, loop, scheduler })
    .pipe(
      take(count),
      tap((frame) => feedTimes.next(frameTime(frame))),
      feedChanges(),
      withBarClock(feedClock(feedTimes, speed > 0 ? speed : 1, scheduler)),
      publishTo(hub),
    )
    .subscribe();
  scheduler.flush();
  sub.unsubscribe();
  return hub.allBars();
};

describe('bars of the bundled trading day', () => {
  it('match an independent fold of the quote changes, every bar of every interval', async () => {
    const quotes = await quotesIn();
    const { hub } = await publish(quotes);
    const lastTs = Date.parse(quotes.at(-1)!.ts);
    const bars = finalBars(hub.allBars());
    const expected = expectedBars(quotes, lastTs);
    expect(bars.size).toBe(expected.size);
    expect([...bars.values()].sort(byKey)).toEqual([...expected.values()].sort(byKey));
    // The day as a whole: every symbol that traded has one 1d bar holding all its updates.
    const days = [...bars.values()].filter((b) => b.interval === '1d');
    expect(days.reduce((n, b) => n + b.updates, 0)).toBe(quotes.length);
    expect(new Set(days.map((b) => b.symbol)).size).toBe(days.length);
  });

  it('read the same at every step: every interval holds each quote as soon as it is folded', async () => {
    const quotes = (await quotesIn()).filter((q) => q.symbol === 'AIRLINK' || q.symbol === 'KSE100');
    const hub = hubWith();
    const wanted = { wantsQuote: () => false, wantsHeadlines: false, wantsCandle: () => true };
    quotes.forEach((q, i) => {
      hub.apply(q);
      const expected = expectedBars(quotes.slice(0, i + 1), Date.parse(q.ts));
      for (const interval of BAR_INTERVALS) {
        const latest = hub.latestBar(q.symbol, interval)!;
        expect(latest).toEqual(expected.get(`${q.symbol} ${interval} ${latest.start}`));
      }
      // A resume at this quote's seq gets its bar of every interval, at that seq.
      const resumed = hub.resume(hub.position, wanted);
      const ofQuote = resumed.recovered ? resumed.messages.filter((m) => m.seq === hub.seq) : [];
      expect(ofQuote.map((m) => m.type === 'candle' && `${m.symbol} ${m.interval}`)).toEqual(
        BAR_INTERVALS.map((interval) => `${q.symbol} ${interval}`),
      );
    });
    expect(quotes.length).toBeGreaterThan(20);
  });

  it('are the same at --speed 0 and --speed 20, all closed once the clock passes midnight', async () => {
    // The day's frames span six hours; Karachi's midnight comes 8.5 hours after the last one.
    const horizon = 16 * HOUR;
    const fast = finalBars(runReplay(0, false, horizon));
    const paced = finalBars(runReplay(20, false, horizon / 20));
    expect(paced).toEqual(fast);
    expect([...fast.values()].every((b) => b.closed)).toBe(true);
    const quotes = await quotesIn();
    expect([...fast.values()].sort(byKey)).toEqual([...expectedBars(quotes, Infinity).values()].sort(byKey));
  });

  it('are the same a week later on the next pass of a --loop', () => {
    const shift = loopShiftMs(frames);
    // Two passes of six hours each, then the clock runs on past the second pass's midnight.
    const horizon = (2 * 6 * HOUR + 10 * HOUR) / 20;
    const all = [...finalBars(runReplay(20, true, horizon, frames.length * 2)).values()];
    const weekLater = (b: Bar) => ({ ...b, start: new Date(Date.parse(b.start) + shift).toISOString() });
    const passOneEnds = frames.at(-1)!.capturedAt!.getTime() + 24 * HOUR;
    const first = all.filter((b) => Date.parse(b.start) < passOneEnds);
    const second = all.filter((b) => !first.includes(b));
    expect(first.length).toBeGreaterThan(8000);
    expect([...first, ...second].every((b) => b.closed)).toBe(true);
    expect(second.sort(byKey)).toEqual(first.map(weekLater).sort(byKey));
  });
});

const byKey = (a: Bar, b: Bar) => {
  const ka = `${a.symbol} ${a.interval} ${a.start}`;
  const kb = `${b.symbol} ${b.interval} ${b.start}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

describe('bars on the market clock', () => {
  it('closes each bar when the feed clock passes its end, with no further frame (virtual time)', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ cold, expectObservable }) => {
      const at = Date.parse('2023-11-09T04:31:20.000Z');
      const quote: QuoteChange = {
        type: 'quote',
        symbol: 'AIRLINK',
        ts: new Date(at).toISOString(),
        fields: { price: 80.6 },
      };
      const hub = hubWith();
      // One frame at 09:31:20 PKT, then nothing; the clock runs at the feed's own pace.
      const published = cold<Change>('a', { a: quote }).pipe(
        withBarClock(feedClock(cold('t', { t: at }), 1)),
        publishTo(hub),
      );
      const closed = hub.messages$.pipe(
        mergeMap((m) => (m.type === 'bars' ? m.bars.filter((b) => b.closed).map((b) => b.interval) : [])),
      );
      // 1m closes at 09:32 (40 s on), 5m at 09:35, 15m at 09:45, 1h at 10:00 PKT.
      expectObservable(merge(published, closed).pipe(take(4))).toBe(
        '40s a 179999ms b 599999ms c 899999ms (d|)',
        { a: '1m', b: '5m', c: '15m', d: '1h' },
      );
    });
  });
});

describe('bars events', () => {
  const quoteAt = (symbol: string, iso: string, price: number): QuoteChange => ({
    type: 'quote',
    symbol,
    ts: iso,
    fields: { price },
  });
  const shape = (events: HubMessage[]) =>
    events.map((m) =>
      m.type === 'bars'
        ? `${m.seq} ${m.bars.map((b) => `${b.symbol}:${b.interval}${b.closed ? '!' : ''}`).join(',')}`
        : `${m.seq} ${m.type}`,
    );

  it('stamps no event for the bars a quote changes, and the closes in one before the quote that passed their end', async () => {
    const { hub, events } = await publish([
      quoteAt('AIRLINK', '2023-11-09T04:31:20.000Z', 80.6),
      quoteAt('HBL', '2023-11-09T04:31:40.000Z', 120),
      // A minute on: AIRLINK's and HBL's 1m bars close, in one event.
      quoteAt('AIRLINK', '2023-11-09T04:32:05.000Z', 81.1),
    ]);
    expect(shape(events)).toEqual(['1 quote', '2 quote', '3 AIRLINK:1m!,HBL:1m!', '4 quote']);
    // Every interval's latest bar holds the quotes that fell in it.
    expect(hub.latestBar('AIRLINK', '1m')).toMatchObject({ open: 81.1, updates: 1, closed: false });
    expect(hub.latestBar('AIRLINK', '5m')).toMatchObject({ open: 80.6, close: 81.1, updates: 2 });
    expect(hub.latestBar('HBL', '1m')).toMatchObject({ close: 120, closed: true });
  });

  it('makes the same bars on a hub that takes the stamped events, as an edge does', async () => {
    const { hub, events } = await publish([
      quoteAt('AIRLINK', '2023-11-09T04:31:20.000Z', 80.6),
      quoteAt('AIRLINK', '2023-11-09T04:31:50.000Z', 80.2),
      quoteAt('HBL', '2023-11-09T04:33:40.000Z', 120),
      quoteAt('AIRLINK', '2023-11-09T04:36:05.000Z', 81.1),
    ]);
    const edge = hubWith();
    for (const m of events) edge.accept(m);
    expect(edge.allBars()).toEqual(hub.allBars());
    expect(edge.allBars().filter((b) => b.closed).length).toBeGreaterThan(0);
  });

  it("folds a change that names no price at the symbol's price, held from before a restart", async () => {
    const changed = (price?: number): QuoteChange => ({
      type: 'quote',
      symbol: 'AIRLINK',
      ts: '2023-11-09T04:31:20.000Z',
      fields: price === undefined ? { change: 1.2 } : { price },
    });
    const before = hubWith();
    before.apply({ ...changed(80.6), ts: '2023-11-08T10:00:00.000Z' });
    const state: HubState = { ...before.exportState(), bars: [], barSeqs: [] };
    const hub = hubWith();
    hub.restore(state);
    const minute: unknown[] = [];
    for (const c of [changed(), changed(81.1), changed()]) {
      hub.apply(c);
      const b = hub.latestBar('AIRLINK', '1m')!;
      minute.push([b.open, b.high, b.low, b.close, b.updates]);
    }
    expect(minute).toEqual([
      [80.6, 80.6, 80.6, 80.6, 1],
      [80.6, 81.1, 80.6, 81.1, 2],
      [80.6, 81.1, 80.6, 81.1, 3],
    ]);
    // An edge that takes a delta of a symbol it never saw whole (after a gap) has no price to fold.
    const edge = hubWith();
    edge.accept({ type: 'quote', seq: 7, symbol: 'HBL', v: 3, change: 1.2, ts: '2023-11-09T04:31:20.000Z' });
    expect(edge.allBars()).toEqual([]);
    expect(edge.latestBar('HBL', '1m')).toBeUndefined();
  });
});
