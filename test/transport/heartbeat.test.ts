import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import { Heartbeat } from '../../src/transport/heartbeat.ts';
import { FakeSink } from './fake-sink.ts';

describe('the heartbeat', () => {
  const setup = (
    clients: { sink: FakeSink }[] = [
      { sink: new FakeSink() },
      { sink: new FakeSink() },
      { sink: new FakeSink(false) },
    ],
    periodMs = 1000,
  ) => {
    const scheduler = new VirtualTimeScheduler();
    const sent: ServerMessage[] = [];
    const heartbeat = new Heartbeat(
      new Set(clients),
      (m) => sent.push(m),
      () => 7,
      scheduler,
    );
    const sub = heartbeat.start(periodMs);
    /** Runs the heartbeat's clock up to `ms`. */
    const until = (ms: number) => {
      scheduler.maxFrames = ms;
      scheduler.flush();
    };
    return { scheduler, clients, sent, heartbeat, sub, until };
  };

  it('sends a heartbeat each period and pings each WebSocket peer, not SSE ones', () => {
    const { clients, sent, sub, until } = setup();
    until(2500);
    expect(sent).toEqual([
      { type: 'heartbeat', seq: 7, ts: new Date(1000).toISOString() },
      { type: 'heartbeat', seq: 7, ts: new Date(2000).toISOString() },
    ]);
    expect(clients.map((c) => c.sink.pings)).toEqual([1, 1, 0]);
    expect(clients.map((c) => c.sink.terminated)).toEqual([true, true, false]);
    sub.unsubscribe();
  });

  it('spreads the pings over the period, each peer pinged once a period', () => {
    const { clients, sub, until } = setup(Array.from({ length: 30 }, () => ({ sink: new FakeSink() })));
    const pinged = () => clients.filter((c) => c.sink.pings > 0).length;
    until(1000);
    expect(pinged()).toBe(3);
    until(1500);
    expect(pinged()).toBe(18);
    until(1999);
    expect(pinged()).toBe(30);
    expect(clients.every((c) => c.sink.pings === 1)).toBe(true);
    sub.unsubscribe();
  });

  it('ticks about once a period when few peers are connected, however long the clock runs', () => {
    for (const clients of [[], [{ sink: new FakeSink() }]]) {
      const { scheduler, sent, sub, until } = setup(clients, 60_000);
      // A day of one-minute periods: slices ticking all period long would be some 860,000
      // actions; a period that has pinged everyone stops slicing.
      until(86_400_000);
      expect(sent).toHaveLength(1440);
      expect(scheduler.index).toBeLessThan(1440 * 4);
      sub.unsubscribe();
    }
  });

  it('cuts off a peer that missed a ping and keeps one that answered', () => {
    const { clients, heartbeat, sub, until } = setup();
    until(1999);
    heartbeat.pong(clients[0]!);
    until(2999);
    expect(clients.map((c) => c.sink.terminated)).toEqual([false, true, false]);
    expect(clients[0]!.sink.pings).toBe(2);
    sub.unsubscribe();
  });

  it('forgets a client that went away', () => {
    const { clients, heartbeat, sub, until } = setup();
    until(1999);
    heartbeat.forget(clients[1]!);
    until(2999);
    expect(clients[1]!.sink.terminated).toBe(false);
    sub.unsubscribe();
  });
});
