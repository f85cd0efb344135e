import { describe, expect, it } from 'vitest';
import { FULL_SNAPSHOT, SendQueue, type FlushTally } from '../../src/transport/send-queue.ts';
import { FrameCache, runKey, type Outgoing } from '../../src/transport/sink.ts';
import { FakeSink } from './fake-sink.ts';

const shared = (tick: number): Outgoing => ({ json: `{"n":${tick}}`, tick });
const flush = (queue: SendQueue, sink = new FakeSink()) => {
  const sent: FlushTally = { messages: 0, bytes: 0 };
  queue.writeTo(sink, new FrameCache(), sent);
  return { sink, sent };
};

describe('the send queue', () => {
  it('tells the caller only when the first item arrives, and writes everything as one batch', () => {
    const queue = new SendQueue();
    expect(queue.push(shared(0))).toBe(true);
    expect(queue.push(shared(1))).toBe(false);
    expect(queue.bytes).toBe(14);
    const { sink, sent } = flush(queue);
    expect(sink.writes).toEqual([{ texts: ['{"n":0}', '{"n":1}'], key: runKey(0, 2) }]);
    expect(sent).toEqual({ messages: 2, bytes: 14 });
    expect([queue.length, queue.bytes]).toEqual([0, 0]);
  });

  it('shares a frame only while the queue is one contiguous run of shared items', () => {
    const gap = new SendQueue();
    gap.push(shared(0));
    gap.push(shared(2));
    expect(flush(gap).sink.writes[0]!.key).toBeUndefined();
    const mixed = new SendQueue();
    mixed.push(shared(0));
    mixed.push({ json: '{"type":"pong"}' });
    expect(flush(mixed).sink.writes[0]!.key).toBeUndefined();
  });

  it('sends a large shared item as its own frame under its key, keeping the order around it', () => {
    const queue = new SendQueue();
    queue.push({ json: '"a"' });
    queue.push({ json: '"big"', alone: 'greeting:1', count: 2 });
    queue.push({ json: '"b"' });
    const { sink, sent } = flush(queue);
    expect(sink.writes).toEqual([
      { texts: ['"a"'], key: undefined },
      { texts: ['"big"'], key: 'greeting:1' },
      { texts: ['"b"'], key: undefined },
    ]);
    expect(sent.messages).toBe(4);
  });

  it('keeps one full snapshot and drops the quote deltas queued after the older one', () => {
    const queue = new SendQueue();
    const quote = { json: '"q"', message: { type: 'quote', seq: 2, symbol: 'A' } } as unknown as Outgoing;
    queue.push({ json: '"s1"', alone: `${FULL_SNAPSHOT}E:1` });
    queue.push(quote);
    queue.push({ json: '"h"' });
    queue.push({ json: '"s2"', alone: `${FULL_SNAPSHOT}E:3` });
    expect(queue.queued.map((o) => o.json)).toEqual(['"h"', '"s2"']);
    expect(queue.bytes).toBe(7);
  });

  it('writes unshared outside a flush and then holds nothing', () => {
    const queue = new SendQueue();
    queue.push(shared(0));
    const sink = new FakeSink();
    queue.writeUnshared(sink);
    expect(sink.writes).toEqual([{ texts: ['{"n":0}'], key: undefined }]);
    expect(queue.length).toBe(0);
  });
});
