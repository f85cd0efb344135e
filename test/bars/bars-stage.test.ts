import { TestScheduler } from 'rxjs/testing';
import {
  from,
  mergeMap,
  lastValueFrom,
  share,
  Subject,
  take,
  tap,
  toArray,
  VirtualAction,
  VirtualTimeScheduler,
  type Observable,
} from 'rxjs';
import { describe, expect, it } from 'vitest';
import { withBars } from '../../src/bars/bars-stage.ts';
import { feedClock } from '../../src/bars/feed-clock.ts';
import type { Change, QuoteChange } from '../../src/diff/changes.ts';
import { feedChanges, frameTime } from '../../src/pipeline.ts';
import { BAR_INTERVALS, type Bar } from '../../src/protocol/messages.ts';
import { readFeed } from '../../src/source/feed-file.ts';
import { BUNDLED_FEED } from '../../src/source/options.ts';
import { loopShiftMs, replay } from '../../src/source/replay.ts';

const frames = readFeed(BUNDLED_FEED);
const HOUR = 3_600_000;

/** The latest version of every bar, keyed by symbol, interval and start. */
const finalBars = (bars: Bar[]): Map<string, Bar> =>
  new Map(bars.map((b) => [`${b.symbol} ${b.interval} ${b.start}`, b]));

const barsIn = (changes: Change[]): Bar[] => changes.flatMap((c) => (c.type === 'bars' ? c.bars : []));

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

/** Runs the replay through parse → diff → bars in virtual time until `horizonMs` (scheduler time). */
const runReplay = async (speed: number, loop: boolean, horizonMs: number, count = frames.length) => {
  const scheduler = new VirtualTimeScheduler(VirtualAction, horizonMs);
  const feedTimes = new Subject<number>();
  const frames$ = replay(frames, { speed, intervalMs: 1000, loop, scheduler }).pipe(take(count));
  const changes$: Observable<Change> = frames$.pipe(
    tap((frame) => feedTimes.next(frameTime(frame))),
    feedChanges(),
    withBars({ clock$: feedClock(feedTimes, speed > 0 ? speed : 1, scheduler) }),
    share(),
  );
  const out: Change[] = [];
  const sub = changes$.subscribe((c) => out.push(c));
  scheduler.flush();
  sub.unsubscribe();
  return out;
};

describe('bars of the bundled trading day', () => {
  it('match an independent fold of the quote changes, every bar of every interval', async () => {
    const changes = await lastValueFrom(from(frames).pipe(feedChanges(), withBars(), toArray()));
    const quotes = changes.filter((c): c is QuoteChange => c.type === 'quote');
    const lastTs = Date.parse(quotes.at(-1)!.ts);
    const bars = finalBars(barsIn(changes));
    const expected = expectedBars(quotes, lastTs);
    expect(bars.size).toBe(expected.size);
    expect([...bars.values()].sort(byKey)).toEqual([...expected.values()].sort(byKey));
    // The day as a whole: every symbol that traded has one 1d bar holding all its updates.
    const days = [...bars.values()].filter((b) => b.interval === '1d');
    expect(days.reduce((n, b) => n + b.updates, 0)).toBe(quotes.length);
    expect(new Set(days.map((b) => b.symbol)).size).toBe(days.length);
  });

  it('are the same at --speed 0 and --speed 20, all closed once the clock passes midnight', async () => {
    // The day's frames span six hours; Karachi's midnight comes 8.5 hours after the last one.
    const horizon = 16 * HOUR;
    const fast = finalBars(barsIn(await runReplay(0, false, horizon)));
    const paced = finalBars(barsIn(await runReplay(20, false, horizon / 20)));
    expect(paced).toEqual(fast);
    expect([...fast.values()].every((b) => b.closed)).toBe(true);
    const changes = await lastValueFrom(from(frames).pipe(feedChanges(), toArray()));
    const quotes = changes.filter((c): c is QuoteChange => c.type === 'quote');
    expect([...fast.values()].sort(byKey)).toEqual([...expectedBars(quotes, Infinity).values()].sort(byKey));
  });

  it('are the same a week later on the next pass of a --loop', async () => {
    const shift = loopShiftMs(frames);
    // Two passes of six hours each, then the clock runs on past the second pass's midnight.
    const horizon = (2 * 6 * HOUR + 10 * HOUR) / 20;
    const all = [...finalBars(barsIn(await runReplay(20, true, horizon, frames.length * 2))).values()];
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

describe('withBars on the market clock', () => {
  it('closes each bar when the feed clock passes its end, with no further frame (virtual time)', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ cold, expectObservable }) => {
      const at = Date.parse('2023-11-09T04:31:20.000Z');
      const quote: QuoteChange = {
        type: 'quote',
        symbol: 'AIRLINK',
        ts: new Date(at).toISOString(),
        fields: { price: 80.6 },
      };
      // One frame at 09:31:20 PKT, then nothing; the clock runs at the feed's own pace.
      const changes = cold<Change>('a', { a: quote }).pipe(
        withBars({ clock$: feedClock(cold('t', { t: at }), 1) }),
      );
      const closed = changes.pipe(
        mergeMap((c) => (c.type === 'bars' ? c.bars.filter((b) => b.closed).map((b) => b.interval) : [])),
        take(4),
      );
      // 1m closes at 09:32 (40 s on), 5m at 09:35, 15m at 09:45, 1h at 10:00 PKT.
      expectObservable(closed).toBe('40s a 179999ms b 599999ms c 899999ms (d|)', {
        a: '1m',
        b: '5m',
        c: '15m',
        d: '1h',
      });
    });
  });
});

describe('withBars events', () => {
  const quoteAt = (symbol: string, iso: string, price: number): QuoteChange => ({
    type: 'quote',
    symbol,
    ts: iso,
    fields: { price },
  });

  it('makes one change per symbol change, carrying its bar of every interval', async () => {
    const out = await lastValueFrom(
      from<Change[]>([
        quoteAt('AIRLINK', '2023-11-09T04:31:20.000Z', 80.6),
        quoteAt('HBL', '2023-11-09T04:31:40.000Z', 120),
        // A minute on: AIRLINK's and HBL's 1m bars close, each symbol's in one change.
        quoteAt('AIRLINK', '2023-11-09T04:32:05.000Z', 81.1),
      ]).pipe(withBars(), toArray()),
    );
    const shape = out.map((c) =>
      c.type === 'bars'
        ? `${c.symbol}:${c.bars.map((b) => `${b.interval}${b.closed ? '!' : ''}`).join(',')}`
        : c.type,
    );
    expect(shape).toEqual([
      'quote',
      'AIRLINK:1m,5m,15m,1h,1d',
      'quote',
      'HBL:1m,5m,15m,1h,1d',
      'quote',
      'AIRLINK:1m!',
      'HBL:1m!',
      'AIRLINK:1m,5m,15m,1h,1d',
    ]);
  });

  it('folds a change that names no price at the last price, seeded from before a restart', async () => {
    const seeded = { bars: [], prices: [['AIRLINK', 80.6]] as [string, number][] };
    const changed = (price?: number): QuoteChange => ({
      type: 'quote',
      symbol: 'AIRLINK',
      ts: '2023-11-09T04:31:20.000Z',
      fields: price === undefined ? { change: 1.2 } : { price },
    });
    const out = await lastValueFrom(
      from<Change[]>([changed(), changed(81.1), changed()]).pipe(withBars({ seed: seeded }), toArray()),
    );
    const minute = barsIn(out).filter((b) => b.interval === '1m');
    expect(minute.map((b) => [b.open, b.high, b.low, b.close, b.updates])).toEqual([
      [80.6, 80.6, 80.6, 80.6, 1],
      [80.6, 81.1, 80.6, 81.1, 2],
      [80.6, 81.1, 80.6, 81.1, 3],
    ]);
    // With nothing seeded, a change that names no price has nothing to fold.
    const cold = await lastValueFrom(from<Change[]>([changed()]).pipe(withBars(), toArray()));
    expect(barsIn(cold)).toEqual([]);
  });
});
