import { describe, expect, it } from 'vitest';
import type { HubMessage } from '../../src/protocol/messages.ts';
import { CandleIndex } from '../../src/transport/candles-channel.ts';
import { FanOut } from '../../src/transport/fan-out.ts';
import type { Outgoing } from '../../src/transport/sink.ts';
import { SubscriberIndex } from '../../src/transport/subscriber-index.ts';

class Receiver {
  delivered: Outgoing[] = [];
  enqueued: Outgoing[] = [];
  deliver(item: Outgoing) {
    this.delivered.push(item);
  }
  enqueue(item: Outgoing) {
    this.enqueued.push(item);
  }
}

describe('fan-out', () => {
  const setup = () => {
    const index = new SubscriberIndex<Receiver>();
    const [all, one, none] = [new Receiver(), new Receiver(), new Receiver()];
    index.setQuoteKeys(all, ['*']);
    index.setQuoteKeys(one, ['=A']);
    index.setHeadlines(none, true);
    let position = 0;
    const fanOut = new FanOut(
      index,
      new CandleIndex<Receiver>(),
      [all, one, none],
      () => position++,
      () => undefined,
    );
    return { fanOut, all, one, none };
  };

  it('hands each subscriber the same item, serialized once, with consecutive positions', () => {
    const { fanOut, all, one, none } = setup();
    fanOut.route({ type: 'quote', seq: 1, symbol: 'A', v: 1, ts: 't' } as HubMessage);
    fanOut.route({ type: 'quote', seq: 2, symbol: 'B', v: 1, ts: 't' } as HubMessage);
    expect(all.delivered.map((o) => o.tick)).toEqual([0, 1]);
    expect(one.delivered).toHaveLength(1);
    expect(one.delivered[0]).toBe(all.delivered[0]);
    expect(JSON.parse(one.delivered[0]!.json)).toMatchObject({ type: 'quote', seq: 1, symbol: 'A' });
    expect(none.delivered).toEqual([]);
  });

  it('routes headlines to headline subscribers and broadcasts to everyone', () => {
    const { fanOut, all, none } = setup();
    fanOut.route({ type: 'headline', seq: 1, id: 'h', title: 'x', ts: 't' } as unknown as HubMessage);
    expect([all.delivered.length, none.delivered.length]).toEqual([0, 1]);
    fanOut.broadcast({ type: 'heartbeat', seq: 1, ts: 't' });
    expect([all, none].map((r) => r.enqueued.map((o) => o.json))).toEqual([
      ['{"type":"heartbeat","seq":1,"ts":"t"}'],
      ['{"type":"heartbeat","seq":1,"ts":"t"}'],
    ]);
  });
});
