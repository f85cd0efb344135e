import { map, merge, take, type OperatorFunction } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Change } from '../../src/diff/changes.ts';
import { Hub, publishTo, restoredParts, type HubOptions, type Interest } from '../../src/hub/hub.ts';
import type { EventMessage, QuoteValues } from '../../src/protocol/messages.ts';

const full = (price: number, extra: Partial<QuoteValues> = {}): Partial<QuoteValues> => ({
  kind: 'stock',
  price,
  change: 1,
  changePercent: 1,
  direction: 'up',
  ...extra,
});
const quote = (symbol: string, fields: Partial<QuoteValues>, ts = 't'): Change => ({
  type: 'quote',
  symbol,
  ts,
  fields,
});
const story = (id: string): Change => ({
  type: 'headline',
  headline: { id, dateline: 'SEOUL', title: `story ${id}`, text: 'text', ts: '2023-11-09T04:31:00.000Z' },
});
const everything: Interest = { wantsQuote: () => true, wantsHeadlines: true };
const only = (...symbols: string[]): Interest => ({
  wantsQuote: (s) => symbols.includes(s),
  wantsHeadlines: false,
});
const hubWith = (options: Partial<HubOptions> = {}) =>
  new Hub({ history: { size: 1000, ageMs: 60_000 }, headlineCount: 50, epoch: 'E', ...options });
const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const seqs = (messages: EventMessage[]) => messages.map((m) => m.seq);

describe('Hub', () => {
  it('stamps one seq per event across quotes and headlines, and one v per change of a symbol', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const hub = hubWith();
      const changes = cold('a-b-h-c|', {
        a: quote('AIRLINK', full(1)),
        b: quote('BOP', full(5)),
        h: story('s1'),
        c: quote('AIRLINK', { price: 2 }),
      });
      expectObservable(merge(changes.pipe(publishTo(hub)), hub.messages$).pipe(take(4))).toBe('a-b-h-(c|)', {
        a: { type: 'quote', seq: 1, symbol: 'AIRLINK', v: 1, ...full(1), ts: 't' },
        b: { type: 'quote', seq: 2, symbol: 'BOP', v: 1, ...full(5), ts: 't' },
        h: expect.objectContaining({ type: 'headline', seq: 3, id: 's1' }),
        c: { type: 'quote', seq: 4, symbol: 'AIRLINK', v: 2, price: 2, ts: 't' },
      });
    });
  });

  it('records each event (the journal) before any subscriber sees it', () => {
    const order: string[] = [];
    const hub = hubWith({ record: (m) => order.push(`record ${m.seq}`) });
    hub.messages$.subscribe((m) => order.push(`emit ${m.seq} at hub seq ${hub.seq}`));
    hub.apply(quote('AIRLINK', full(1)));
    hub.apply(story('s1'));
    expect(order).toEqual(['record 1', 'emit 1 at hub seq 1', 'record 2', 'emit 2 at hub seq 2']);
  });

  it('keeps the snapshot as the sum of every delta', () => {
    const hub = hubWith();
    hub.apply(quote('AIRLINK', full(1)));
    hub.apply(quote('AIRLINK', { price: 2, direction: 'down' }, 't2'));
    expect(hub.snapshot()).toEqual([
      { symbol: 'AIRLINK', v: 2, ...full(2, { direction: 'down' }), ts: 't2' },
    ]);
  });

  it('hands out snapshots and restores states that later changes leave as they were', () => {
    const hub = hubWith();
    hub.apply(quote('AIRLINK', full(1)));
    const before = hub.snapshot();
    const state = hub.exportState();
    const restored = hubWith();
    restored.restore(state);
    hub.apply(quote('AIRLINK', { price: 2 }, 't2'));
    restored.apply(quote('AIRLINK', { price: 3 }, 't3'));
    expect(before).toEqual([{ symbol: 'AIRLINK', v: 1, ...full(1), ts: 't' }]);
    expect(state.quotes).toEqual(before);
    expect(hub.snapshot()[0]).toMatchObject({ price: 2, v: 2 });
  });

  it('resumes with one merged delta per symbol holding every field changed since, kind and direction included', () => {
    const hub = hubWith();
    hub.apply(quote('AIRLINK', full(1)));
    hub.apply(quote('KSE100', full(100)));
    const since = hub.position;
    hub.apply(quote('AIRLINK', { price: 2 }, 't2'));
    hub.apply(story('s1'));
    hub.apply(quote('KSE100', { kind: 'index', direction: 'down' }, 't3'));
    hub.apply(quote('AIRLINK', { change: 3, direction: 'unchanged' }, 't4'));

    const result = hub.resume(since, everything);
    expect(result).toEqual({
      recovered: true,
      messages: [
        expect.objectContaining({ type: 'headline', seq: 4, id: 's1' }),
        { type: 'quote', seq: 5, symbol: 'KSE100', v: 2, kind: 'index', direction: 'down', ts: 't3' },
        {
          type: 'quote',
          seq: 6,
          symbol: 'AIRLINK',
          v: 3,
          price: 2,
          change: 3,
          direction: 'unchanged',
          ts: 't4',
        },
      ],
    });
  });

  it('resumes only what the subscription covers', () => {
    const hub = hubWith();
    hub.apply(quote('AIRLINK', full(1)));
    hub.apply(story('s1'));
    hub.apply(quote('BOP', full(5)));
    const result = hub.resume({ epoch: 'E', seq: 0 }, only('BOP'));
    expect(result.recovered && seqs(result.messages)).toEqual([3]);
  });

  it('answers recovered with nothing to send when the subscriber is up to date', () => {
    const hub = hubWith();
    hub.apply(quote('AIRLINK', full(1)));
    expect(hub.resume({ epoch: 'E', seq: 1 }, everything)).toEqual({ recovered: true, messages: [] });
  });

  it('refuses to resume another epoch or a seq the hub never reached', () => {
    const hub = hubWith();
    hub.apply(quote('AIRLINK', full(1)));
    expect(hub.resume({ epoch: 'OTHER', seq: 0 }, everything)).toEqual({ recovered: false });
    expect(hub.resume({ epoch: 'E', seq: 2 }, everything)).toEqual({ recovered: false });
  });

  it('resumes from exactly the last evicted seq, and not from one before it', () => {
    const hub = hubWith({ history: { size: 2, ageMs: 60_000 } });
    for (let p = 1; p <= 4; p++) hub.apply(quote('AIRLINK', { price: p }));
    // Seqs 1 and 2 are evicted: a subscriber at 2 missed only 3 and 4, which are held.
    const atTwo = hub.resume({ epoch: 'E', seq: 2 }, everything);
    expect(atTwo.recovered && seqs(atTwo.messages)).toEqual([4]);
    expect(hub.resume({ epoch: 'E', seq: 1 }, everything)).toEqual({ recovered: false });
    // What operators are shown as the reach: two events missed resume, three do not.
    expect(hub.resumeReach()).toBe(2);
  });

  it('answers recovered:false past the resume budget, however much history holds', () => {
    const hub = hubWith({ resumeBudget: 3 });
    for (let p = 1; p <= 5; p++) hub.apply(quote('AIRLINK', { price: p }));
    const withinBudget = hub.resume({ epoch: 'E', seq: 2 }, everything);
    expect(withinBudget.recovered && seqs(withinBudget.messages)).toEqual([5]);
    expect(hub.resume({ epoch: 'E', seq: 1 }, everything)).toEqual({ recovered: false });
    expect(hub.resumeReach()).toBe(3);
  });

  it('matches each symbol against the interest once per resume', () => {
    const hub = hubWith();
    for (let p = 1; p <= 50; p++) hub.apply(quote(p % 2 ? 'AIRLINK' : 'BOP', { price: p }));
    let asked = 0;
    const counting: Interest = { wantsQuote: (s) => (asked++, s === 'BOP'), wantsHeadlines: false };
    const result = hub.resume({ epoch: 'E', seq: 0 }, counting);
    expect(result.recovered && seqs(result.messages)).toEqual([50]);
    expect(asked).toBe(2);
  });

  it('evicts history by age on the hub clock', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const hub = hubWith({ history: { size: 1000, ageMs: 15 }, scheduler: testScheduler });
      cold('a 9ms b 9ms c', {
        a: quote('AIRLINK', { price: 1 }),
        b: quote('AIRLINK', { price: 2 }),
        c: quote('AIRLINK', { price: 3 }),
      })
        .pipe(publishTo(hub))
        .subscribe();
      // At 20 ms the event of 0 ms is older than 15 ms; the one of 10 ms is not, until 26 ms.
      const probe = cold('20ms x 5ms y', { x: 0, y: 0 });
      expectObservable(probe.pipe(publishResume(hub, 1))).toBe('20ms x 5ms y', { x: true, y: false });
      expectObservable(probe.pipe(publishResume(hub, 0))).toBe('20ms x 5ms y', { x: false, y: false });
    });
  });

  it('ignores a seq it already holds and does not resume across a gap', () => {
    const hub = hubWith();
    const first = hub.apply(quote('AIRLINK', full(1)))!;
    expect(hub.accept(first)).toBe(false);
    expect(hub.accept({ type: 'quote', seq: 5, symbol: 'AIRLINK', v: 2, price: 2, ts: 't' })).toBe(true);
    expect(hub.seq).toBe(5);
    expect(hub.resume({ epoch: 'E', seq: 1 }, everything)).toEqual({ recovered: false });
  });

  it('publishes a status only when a part of it changes', () => {
    const hub = hubWith();
    const seen: string[] = [];
    hub.status$.subscribe((s) => seen.push(`${s.state}/${s.market}`));
    hub.setStatus({ market: 'open' });
    hub.setStatus({ market: 'open' });
    hub.setStatus({ state: 'ended' });
    expect(seen).toEqual(['running/closed', 'running/open', 'ended/open']);
  });

  it('restores into a hub that continues the same epoch, seq, snapshot, history and story ids', () => {
    const hub = hubWith({ epoch: 'E1', barDays: 5 });
    hub.apply(quote('AIRLINK', full(1), '2023-11-09T04:31:00.000Z'));
    hub.apply(story('s1'));
    hub.apply(quote('AIRLINK', { price: 2 }, '2023-11-09T04:32:00.000Z'));
    const restored = hubWith({ epoch: 'E2', barDays: 5 });
    restored.restore(JSON.parse(JSON.stringify(hub.exportState())));

    // Four events: the second quote's minute closed the first one's 1m bar.
    expect(restored.position).toEqual({ epoch: 'E1', seq: 4 });
    expect(restored.snapshot()).toEqual(hub.snapshot());
    expect(restored.allBars()).toEqual(hub.allBars());
    expect(restored.latestHeadlines()).toEqual(hub.latestHeadlines());
    expect(restored.seenHeadlineIds()).toEqual(['s1']);
    expect(restored.latestTs).toBe('2023-11-09T04:32:00.000Z');
    expect(restored.resume({ epoch: 'E1', seq: 1 }, everything)).toEqual(
      hub.resume({ epoch: 'E1', seq: 1 }, everything),
    );
    expect(restored.apply(quote('AIRLINK', { price: 3 }))).toMatchObject({ seq: 5, v: 3 });
  });

  it('completes its streams on close, and closing twice is safe', () => {
    const hub = hubWith();
    let completed = 0;
    hub.messages$.subscribe({ complete: () => completed++ });
    hub.status$.subscribe({ complete: () => completed++ });
    hub.close();
    hub.close();
    expect(completed).toBe(2);
  });
});

/** Maps each probe to whether a resume from `seq` succeeds at that (virtual) moment. */
const publishResume =
  (hub: Hub, seq: number): OperatorFunction<unknown, boolean> =>
  (probe) =>
    probe.pipe(map(() => hub.resume({ epoch: 'E', seq }, everything).recovered));

describe('a restore prepared beside the hub', () => {
  it('puts a saved state’s bars and history into stores of their own a step at a time, and serves its own until it takes them', () => {
    const options = { history: { size: 6000, ageMs: 3_600_000 }, headlineCount: 5, barDays: 5 };
    // Another hub's state: 2,500 symbols for ten minutes, 25,000 bars and a full history.
    const source = new Hub({ ...options, epoch: 'E2' });
    for (let m = 0; m < 10; m++)
      for (let s = 0; s < 2500; s++)
        source.apply(quote(`S${s}`, full(80 + m), new Date(Date.UTC(2023, 10, 8, 4, 31 + m)).toISOString()));
    const saved = source.exportState();
    const hub = new Hub({ ...options, epoch: 'E' });
    hub.apply(quote('AIRLINK', full(81), '2023-11-09T04:31:00.000Z'));
    const own = hub.exportState();
    const steps = restoredParts(options, saved, Date.now());
    let turns = 0;
    let step = steps.next();
    for (; !step.done; step = steps.next()) {
      turns++;
      expect(hub.exportState()).toEqual(own);
    }
    // Bars 10,000 and events 5,000 a step.
    expect(turns).toBeGreaterThan(3);
    hub.restore(saved, step.value);
    expect(hub.exportState()).toEqual(saved);
  });
});
