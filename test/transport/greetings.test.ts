import { describe, expect, it } from 'vitest';
import type { Change } from '../../src/diff/changes.ts';
import { Hub } from '../../src/hub/hub.ts';
import {
  CANDLE_SNAPSHOT_LAG,
  CandleSnapshotCache,
  GreetingCache,
  SnapshotCache,
} from '../../src/transport/greetings.ts';
import { FULL_SNAPSHOT } from '../../src/transport/send-queue.ts';

const hub = () => new Hub({ history: { size: 10, ageMs: 60_000 }, headlineCount: 5, epoch: 'E' });
const change = (symbol: string): Change =>
  ({ type: 'quote', symbol, fields: { price: 1 }, ts: 't' }) as unknown as Change;

describe('the greeting and snapshot caches', () => {
  it('greets WebSocket clients with one frame of hello and status, SSE clients with two events', () => {
    const h = hub();
    const cache = new GreetingCache(h, 15_000);
    const [frame] = cache.greeting('ws');
    expect(JSON.parse(frame!.json)).toEqual([
      { type: 'hello', version: expect.any(Number), epoch: 'E', seq: 0, heartbeatMs: 15_000 },
      expect.objectContaining({ type: 'status' }),
    ]);
    expect(frame!.count).toBe(2);
    expect(cache.greeting('sse').map((o) => JSON.parse(o.json).type)).toEqual(['hello', 'status']);
  });

  it('builds each once per seq and status, and anew when either changes', () => {
    const h = hub();
    const greetings = new GreetingCache(h, 1000);
    const snapshots = new SnapshotCache(h);
    const [g1] = greetings.greeting('ws');
    const s1 = snapshots.fullSnapshot();
    expect(greetings.greeting('ws')[0]).toBe(g1);
    expect(snapshots.fullSnapshot()).toBe(s1);
    h.apply(change('A'));
    const [g2] = greetings.greeting('ws');
    expect(g2).not.toBe(g1);
    expect(g2!.alone).not.toBe(g1!.alone);
    const s2 = snapshots.fullSnapshot();
    expect(s2.alone).toBe(`${FULL_SNAPSHOT}E:1`);
    expect(JSON.parse(s2.json)).toMatchObject({
      type: 'snapshot',
      channel: 'quotes',
      seq: 1,
      quotes: [{ symbol: 'A' }],
    });
    h.setStatus({ state: 'ended' } as never);
    expect(greetings.greeting('ws')[0]).not.toBe(g2);
  });

  it('builds a candle snapshot once per request, shared while it lags the hub by little, anew after', () => {
    const h = new Hub({ history: { size: 10, ageMs: 60_000 }, headlineCount: 5, epoch: 'E', barDays: 5 });
    const quote = (symbol: string, price: number): Change => ({
      type: 'quote',
      symbol,
      ts: '2023-11-09T04:31:00.000Z',
      fields: { kind: 'stock', price, change: 0, changePercent: 0, direction: 'unchanged' },
    });
    h.apply(quote('AIRLINK', 8060));
    h.apply(quote('HBL', 9000));
    const cache = new CandleSnapshotCache(h);
    const all = cache.snapshot('1m', undefined);
    const one = cache.snapshot('1m', ['HBL']);
    expect(cache.snapshot('1m', undefined)).toBe(all);
    expect(cache.snapshot('1m', ['HBL'])).toBe(one);
    expect(cache.snapshot('5m', ['HBL'])).not.toBe(one);
    expect(one.seq).toBe(2);
    expect(JSON.parse(one.item.json)).toEqual({
      type: 'snapshot',
      channel: 'candles',
      interval: '1m',
      seq: 2,
      candles: [expect.objectContaining({ symbol: 'HBL', close: 9000 })],
    });
    expect(JSON.parse(all.item.json).candles.map((c: { symbol: string }) => c.symbol)).toEqual([
      'AIRLINK',
      'HBL',
    ]);
    // A few events on, the held one is still shared (its subscriber gets the candles since after it)…
    h.apply(quote('HBL', 9010));
    expect(cache.snapshot('1m', ['HBL'])).toBe(one);
    // …unless a new one is asked for, or it lags by more than CANDLE_SNAPSHOT_LAG events.
    const fresh = cache.snapshot('1m', ['HBL'], true);
    expect(fresh.item.alone).not.toBe(one.item.alone);
    expect(JSON.parse(fresh.item.json)).toMatchObject({ seq: 3, candles: [{ close: 9010, updates: 2 }] });
    for (let k = 0; k <= CANDLE_SNAPSHOT_LAG; k++) h.apply(quote('OGDC', 100 + k));
    expect(cache.snapshot('1m', ['HBL'])).toMatchObject({ seq: h.seq });
    // A hub taken back to an earlier seq of its epoch (a reload) gets a snapshot of its own.
    const ahead = cache.snapshot('1m', ['HBL']);
    h.restore({ ...h.exportState(), seq: ahead.seq - 1 });
    expect(cache.snapshot('1m', ['HBL'])).toMatchObject({ seq: ahead.seq - 1 });
    // Eight requests held at once: a ninth makes room by dropping the oldest.
    const first = cache.snapshot('1m', ['X0']);
    for (let k = 1; k < 8; k++) cache.snapshot('1m', [`X${k}`]);
    expect(cache.snapshot('1m', ['X0'])).toBe(first);
    cache.snapshot('1m', ['X8']);
    cache.snapshot('1m', ['X9']);
    expect(cache.snapshot('1m', ['X0'])).not.toBe(first);
  });
});
