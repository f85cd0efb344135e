import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Hub } from '../../src/hub/hub.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { ErrorCode, QuoteMessage } from '../../src/protocol/messages.ts';
import { CandleIndex } from '../../src/transport/candles-channel.ts';
import { DEFAULT_LIMITS } from '../../src/transport/options.ts';
import type { Outgoing } from '../../src/transport/sink.ts';
import { SubscriberIndex } from '../../src/transport/subscriber-index.ts';
import { Subscriptions } from '../../src/transport/subscriptions.ts';

class Client {
  queued: Outgoing[] = [];
  failures: ErrorCode[] = [];
  enqueue(item: Outgoing) {
    this.queued.push(item);
  }
  fail(code: ErrorCode) {
    this.failures.push(code);
  }
  types() {
    return this.queued.map((o) => (JSON.parse(o.json) as { type: string }).type);
  }
}

const setup = (maxSymbols = 1000) => {
  const scheduler = new VirtualTimeScheduler();
  const index = new SubscriberIndex<Client>();
  const metrics = createMetrics();
  const ctx = {
    hub: new Hub({ history: { size: 10, ageMs: 60_000 }, headlineCount: 5 }),
    limits: { ...DEFAULT_LIMITS, maxSymbols, maxPayload: 65_536 },
    metrics,
    scheduler,
    index,
    candles: new CandleIndex<Client>(),
    fullSnapshot: () => ({ json: '{"type":"snapshot"}' }),
    candleSnapshot: () => ({ item: { json: '{"type":"snapshot","channel":"candles"}' }, seq: 0, candles: 0 }),
  };
  const client = new Client();
  return { subs: new Subscriptions(ctx, client), client, index, scheduler, metrics, hub: ctx.hub };
};
const routed = (index: SubscriberIndex<Client>, symbol: string) => {
  const got: Client[] = [];
  index.forQuote(symbol, (c) => got.push(c));
  return got;
};
const quote = (seq: number): Outgoing => {
  const message = { type: 'quote', seq, symbol: 'A', v: seq, ts: 't' } as QuoteMessage;
  return { json: JSON.stringify(message), message };
};

describe("a client's subscriptions", () => {
  it('answers subscribed then a snapshot, and keeps the index in step', () => {
    const { subs, client, index, metrics } = setup();
    subs.subscribe({ op: 'subscribe', channel: 'quotes', symbols: ['A'], id: 1 });
    expect(client.types()).toEqual(['subscribed', 'snapshot']);
    expect(routed(index, 'A')).toEqual([client]);
    subs.unsubscribe({ op: 'unsubscribe', channel: 'quotes', symbols: ['A'] });
    expect(routed(index, 'A')).toEqual([]);
    subs.dispose();
    metrics.close();
  });

  it('counts each resume by channel and outcome, and a plain subscribe not at all', async () => {
    const { subs, metrics, hub } = setup();
    subs.subscribe({ op: 'subscribe', channel: 'headlines', since: { epoch: hub.epoch, seq: hub.seq } });
    subs.subscribe({
      op: 'subscribe',
      channel: 'candles',
      interval: '1m',
      since: { epoch: 'other', seq: 1 },
    });
    subs.subscribe({ op: 'subscribe', channel: 'quotes' });
    const counted = (await metrics.resumes.get()).values.map((v) => [v.labels, v.value]);
    expect(counted).toEqual([
      [{ channel: 'headlines', recovered: 'true' }, 1],
      [{ channel: 'candles', recovered: 'false' }, 1],
    ]);
    subs.dispose();
    metrics.close();
  });

  it('refuses a subscription that would hold more than maxSymbols', () => {
    const { subs, client, index, metrics } = setup(1);
    subs.subscribe({ op: 'subscribe', channel: 'quotes', symbols: ['A', 'B'] });
    expect(client.failures).toEqual(['too_many_symbols']);
    expect(routed(index, 'A')).toEqual([]);
    metrics.close();
  });

  it('holds a delta that comes sooner than maxRate allows and releases it merged', () => {
    const { subs, client, scheduler, metrics } = setup();
    subs.subscribe({ op: 'subscribe', channel: 'quotes', symbols: ['A'], maxRate: 1 });
    client.queued = [];
    subs.deliver(quote(1));
    subs.deliver(quote(2));
    expect(client.queued.map((o) => o.message?.seq)).toEqual([1]);
    scheduler.flush();
    expect(client.queued.map((o) => o.message?.seq)).toEqual([1, 2]);
    subs.dispose();
    metrics.close();
  });
});
