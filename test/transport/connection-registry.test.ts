import { asyncScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Hub } from '../../src/hub/hub.ts';
import { createMetrics } from '../../src/metrics.ts';
import { CandleIndex } from '../../src/transport/candles-channel.ts';
import type { Connection } from '../../src/transport/connection.ts';
import { ReadBudget } from '../../src/transport/read-budget.ts';
import { ItemBudget } from '../../src/transport/item-budget.ts';
import { ConnectionRegistry } from '../../src/transport/connection-registry.ts';
import { DEFAULT_LIMITS } from '../../src/transport/options.ts';
import { SubscriberIndex } from '../../src/transport/subscriber-index.ts';
import { quietLog } from '../helpers.ts';
import { FakeSink } from './fake-sink.ts';

describe('the connection registry', () => {
  it('greets and counts a client, and forgets it everywhere once released', async () => {
    const metrics = createMetrics();
    const dirty: Connection[] = [];
    const forgotten: Connection[] = [];
    const perAddress = new Map<string, number>();
    const registry = new ConnectionRegistry(
      {
        hub: new Hub({ history: { size: 10, ageMs: 60_000 }, headlineCount: 5 }),
        log: quietLog(),
        limits: { ...DEFAULT_LIMITS, maxPayload: 65_536 },
        metrics,
        scheduler: asyncScheduler,
        index: new SubscriberIndex(),
        candles: new CandleIndex(),
        markDirty: (c) => dirty.push(c),
        fullSnapshot: () => ({ json: '{}' }),
        candleSnapshot: () => ({ item: { json: '{}' }, seq: 0, candles: 0 }),
        items: new ItemBudget(DEFAULT_LIMITS.maxItemsPerIp, () => 0),
        reads: new ReadBudget(DEFAULT_LIMITS.maxRequestBytesPerIp, asyncScheduler, () => undefined),
      },
      {
        admission: {
          opened: (ip) => perAddress.set(ip, (perAddress.get(ip) ?? 0) + 1),
          closed: (ip) => perAddress.set(ip, perAddress.get(ip)! - 1),
        },
        greeting: () => [{ json: '"hello"' }, { json: '"status"' }],
        forget: (c) => forgotten.push(c),
      },
    );
    const sink = new FakeSink();
    sink.buffered = 100;
    const a = registry.add(sink, '10.0.0.1', 'ws');
    const b = registry.add(new FakeSink(), '10.0.0.1', 'sse');
    expect([a.bindings.client, b.bindings.client]).toEqual([1, 2]);
    expect([registry.size, perAddress.get('10.0.0.1'), dirty]).toEqual([2, 2, [a, b]]);
    expect(registry.waitingBytes()).toEqual({ total: 100 + 2 * 15, max: 115 });
    expect(a.waitingBytes).toBe(115);
    a.release(1000);
    a.release(1000);
    expect([registry.size, perAddress.get('10.0.0.1'), forgotten]).toEqual([1, 1, [a]]);
    expect([...registry]).toEqual([b]);
    expect((await metrics.registry.getSingleMetric('tickstream_connections')!.get()).values[0]!.value).toBe(
      1,
    );
    metrics.close();
  });
});
