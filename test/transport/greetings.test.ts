import { describe, expect, it } from 'vitest';
import type { Change } from '../../src/diff/changes.ts';
import { Hub } from '../../src/hub/hub.ts';
import { GreetingCache, SnapshotCache } from '../../src/transport/greetings.ts';
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
});
