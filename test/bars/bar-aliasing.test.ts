import { Subject } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Change } from '../../src/diff/changes.ts';
import { Hub, publishTo, type Interest } from '../../src/hub/hub.ts';
import { BAR_INTERVALS, type Bar } from '../../src/protocol/messages.ts';

const T0 = Date.parse('2023-11-09T04:30:00.000Z');
const quote = (symbol: string, price: number, ms: number): Change => ({
  type: 'quote',
  symbol,
  ts: new Date(ms).toISOString(),
  fields: { price },
});
const allCandles: Interest = { wantsQuote: () => false, wantsHeadlines: false, wantsCandle: () => true };

/** Anything handed out, beside the text it had when handed out: it must still read the same. */
class Kept {
  private readonly items: [unknown, string][] = [];
  keep(value: unknown): void {
    this.items.push([value, JSON.stringify(value)]);
  }
  changed(): string[] {
    return this.items.filter(([value, text]) => JSON.stringify(value) !== text).map(([, text]) => text);
  }
}

describe('bars once handed out', () => {
  const hub = new Hub({
    history: { size: 1000, ageMs: 3_600_000 },
    headlineCount: 10,
    epoch: 'E',
    barDays: 5,
  });
  const changes$ = new Subject<Change>();
  const kept = new Kept();
  const subscriptions = [
    changes$.pipe(publishTo(hub)).subscribe(),
    hub.messages$.subscribe((m) => m.type === 'bars' && kept.keep(m)),
  ];
  afterAll(() => subscriptions.forEach((s) => s.unsubscribe()));
  const latestBars = () =>
    ['AIRLINK', 'HBL'].flatMap((symbol) => BAR_INTERVALS.map((i) => hub.latestBar(symbol, i)!));

  it('never change: not in events, queries, exports, latest bars or resumes, however the bars go on', () => {
    // Two symbols, several quotes a minute, over the end of a 1m and a 5m bar, so every bar is
    // revised in place after being emitted, closed, and opened again in the same slot.
    let k = 0;
    for (let ms = T0; ms < T0 + 7 * 60_000; ms += 20_000, k++) {
      for (const symbol of ['AIRLINK', 'HBL']) changes$.next(quote(symbol, 80 + ((k * 7) % 5), ms));
      kept.keep(hub.queryBars({ interval: '1m' }));
      kept.keep(hub.queryBars({ interval: '5m' }));
      kept.keep(hub.allBars());
      kept.keep(latestBars());
      kept.keep(hub.exportState().bars);
      const resumed = hub.resume({ epoch: 'E', seq: Math.max(0, hub.position.seq - 3) }, allCandles);
      if (resumed.recovered) kept.keep(resumed.messages);
    }
    expect(hub.queryBars({ interval: '1m' }).some((b) => b.updates > 1 && b.closed)).toBe(true);
    expect(kept.changed()).toEqual([]);
  });

  it('are copies: changing one changes nothing the hub holds', () => {
    const before = JSON.stringify(hub.queryBars({ interval: '1m' }));
    for (const bar of [...hub.queryBars({ interval: '1m' }), ...hub.allBars(), ...latestBars()])
      (bar as { close: number }).close = -1;
    expect(JSON.stringify(hub.queryBars({ interval: '1m' }))).toBe(before);
  });
});

describe('a hub restored with bars', () => {
  it('does not change the state it restored as it folds', () => {
    const bars: Bar[] = [
      {
        symbol: 'HBL',
        interval: '1m',
        start: new Date(T0).toISOString(),
        open: 1,
        high: 1,
        low: 1,
        close: 1,
        updates: 1,
        closed: false,
      },
    ];
    const text = JSON.stringify(bars);
    const hub = new Hub({
      history: { size: 1000, ageMs: 3_600_000 },
      headlineCount: 10,
      epoch: 'E',
      barDays: 5,
    });
    hub.restore({ epoch: 'E', seq: 1, quotes: [], headlines: [], history: [], bars, barSeqs: [1] });
    hub.apply(quote('HBL', 2, T0 + 1000));
    hub.apply(quote('HBL', 3, T0 + 61_000));
    expect(hub.latestBar('HBL', '1m')).toMatchObject({ close: 3, updates: 1 });
    expect(hub.queryBars({ interval: '1m' })[0]).toMatchObject({ close: 2, updates: 2, closed: true });
    expect(JSON.stringify(bars)).toBe(text);
  });
});
