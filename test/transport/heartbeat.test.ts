import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import { Heartbeat } from '../../src/transport/heartbeat.ts';
import { FakeSink } from './fake-sink.ts';

describe('the heartbeat', () => {
  const setup = () => {
    const scheduler = new VirtualTimeScheduler();
    const clients = [{ sink: new FakeSink() }, { sink: new FakeSink() }, { sink: new FakeSink(false) }];
    const sent: ServerMessage[] = [];
    const heartbeat = new Heartbeat(
      clients,
      (m) => sent.push(m),
      () => 7,
      scheduler,
    );
    return { scheduler, clients, sent, heartbeat };
  };

  it('sends a heartbeat each period and pings each WebSocket peer, not SSE ones', () => {
    const { scheduler, clients, sent, heartbeat } = setup();
    const sub = heartbeat.start(1000);
    scheduler.maxFrames = 2500;
    scheduler.flush();
    expect(sent).toEqual([
      { type: 'heartbeat', seq: 7, ts: new Date(1000).toISOString() },
      { type: 'heartbeat', seq: 7, ts: new Date(2000).toISOString() },
    ]);
    expect(clients.map((c) => c.sink.pings)).toEqual([1, 1, 0]);
    expect(clients.map((c) => c.sink.terminated)).toEqual([true, true, false]);
    sub.unsubscribe();
  });

  it('cuts off a peer that missed a ping and keeps one that answered', () => {
    const { clients, heartbeat } = setup();
    heartbeat.beat();
    heartbeat.pong(clients[0]!);
    heartbeat.beat();
    expect(clients.map((c) => c.sink.terminated)).toEqual([false, true, false]);
    expect(clients[0]!.sink.pings).toBe(2);
  });

  it('forgets a client that went away', () => {
    const { clients, heartbeat } = setup();
    heartbeat.beat();
    heartbeat.forget(clients[1]!);
    heartbeat.pong(clients[0]!);
    heartbeat.beat();
    expect(clients[1]!.sink.terminated).toBe(false);
  });
});
