import { describe, expect, it } from 'vitest';
import { FlushScheduler, type FlushTimers } from '../../src/transport/flush-scheduler.ts';
import type { FlushTally } from '../../src/transport/send-queue.ts';

/** Timers the test steps by hand: what is due after I/O, what waits, and a clock. */
const manualTimers = () => {
  const afterIo: (() => void)[] = [];
  const later: { run: () => void; ms: number }[] = [];
  const timers: FlushTimers & { at: number } = {
    at: 0,
    now: () => timers.at,
    afterIo: (run) => afterIo.push(run),
    later: (run, ms) => later.push({ run, ms }),
  };
  return { timers, afterIo, later };
};

const recordingMetrics = () => {
  const observed = { latency: [] as number[], duration: [] as number[], messages: 0 };
  return {
    observed,
    metrics: {
      messagesOut: { inc: (n: number) => void (observed.messages += n) },
      bytesOut: { inc: () => {} },
      flushDuration: { observe: (v: number) => void observed.duration.push(v) },
      deliveryLatency: { observe: (v: number) => void observed.latency.push(v) },
    },
  };
};

class Client {
  flushPending = false;
  flushes = 0;
  onFlush = () => {};
  flush(_frames: unknown, sent: FlushTally) {
    this.flushes++;
    sent.messages++;
    this.onFlush();
  }
}

describe('the flush scheduler', () => {
  it('flushes every client marked before the loop gets to it once, after pending I/O', () => {
    const { timers, afterIo, later } = manualTimers();
    const s = new FlushScheduler<Client>(0, recordingMetrics().metrics, timers);
    const [a, b] = [new Client(), new Client()];
    s.markDirty(a);
    s.markDirty(b);
    s.markDirty(a);
    expect([afterIo.length, later.length]).toEqual([1, 0]);
    afterIo.shift()!();
    expect([a.flushes, b.flushes]).toEqual([1, 1]);
  });

  it('never flushes a client marked during a flush in that same flush', () => {
    const { timers, afterIo } = manualTimers();
    const s = new FlushScheduler<Client>(0, recordingMetrics().metrics, timers);
    const a = new Client();
    a.onFlush = () => a.flushes < 3 && s.markDirty(a);
    s.markDirty(a);
    afterIo.shift()!();
    expect(a.flushes).toBe(1);
    expect(afterIo).toHaveLength(1);
  });

  it('with --max-delay spaces flush starts that far apart, and goes at once after a quiet spell', () => {
    const { timers, afterIo, later } = manualTimers();
    const s = new FlushScheduler<Client>(5, recordingMetrics().metrics, timers);
    const a = new Client();
    timers.at = 100;
    s.markDirty(a);
    afterIo.shift()!();
    timers.at = 102;
    s.markDirty(a);
    expect(later).toEqual([{ run: expect.any(Function), ms: 3 }]);
    later.shift()!.run();
    expect(a.flushes).toBe(2);
    timers.at = 200;
    s.markDirty(a);
    expect([afterIo.length, later.length]).toEqual([1, 0]);
  });

  it('observes one delivery latency per flush: the oldest item, from its mark to the end of the flush', () => {
    const { timers, afterIo } = manualTimers();
    const { metrics, observed } = recordingMetrics();
    const s = new FlushScheduler<Client>(0, metrics, timers);
    const [a, b] = [new Client(), new Client()];
    timers.at = 10;
    s.markDirty(a);
    timers.at = 12;
    s.markDirty(b);
    timers.at = 14;
    afterIo.shift()!();
    expect(observed.latency).toEqual([0.004]);
    expect(observed.duration).toEqual([0]);
    expect(observed.messages).toBe(2);
  });

  it('skips a client forgotten before its flush', () => {
    const { timers, afterIo } = manualTimers();
    const { metrics, observed } = recordingMetrics();
    const s = new FlushScheduler<Client>(0, metrics, timers);
    const a = new Client();
    s.markDirty(a);
    s.forget(a);
    afterIo.shift()!();
    expect(a.flushes).toBe(0);
    expect(observed.latency).toEqual([]);
  });

  it('flushes once a client forgotten and then marked again, and keeps no reference after', () => {
    const { timers, afterIo } = manualTimers();
    const s = new FlushScheduler<Client>(0, recordingMetrics().metrics, timers);
    const a = new Client();
    s.markDirty(a);
    s.forget(a);
    s.markDirty(a);
    afterIo.shift()!();
    expect(a.flushes).toBe(1);
    s.markDirty(a);
    afterIo.shift()!();
    expect(a.flushes).toBe(2);
  });

  it('leaves the clients after one whose flush throws for the next flush, not stranded', () => {
    const { timers, afterIo } = manualTimers();
    const s = new FlushScheduler<Client>(0, recordingMetrics().metrics, timers);
    const [a, b, c] = [new Client(), new Client(), new Client()];
    a.onFlush = () => {
      throw new Error('a socket that cannot be written');
    };
    for (const client of [a, b, c]) s.markDirty(client);
    expect(() => afterIo.shift()!()).toThrow('cannot be written');
    expect([b.flushes, c.flushes]).toEqual([0, 0]);
    expect(afterIo).toHaveLength(1);
    afterIo.shift()!();
    expect([a.flushes, b.flushes, c.flushes]).toEqual([1, 1, 1]);
  });

  it('gives shared items consecutive positions, starting again after each flush', () => {
    const { timers, afterIo } = manualTimers();
    const s = new FlushScheduler<Client>(0, recordingMetrics().metrics, timers);
    expect([s.nextPosition(), s.nextPosition()]).toEqual([0, 1]);
    s.markDirty(new Client());
    afterIo.shift()!();
    expect(s.nextPosition()).toBe(0);
  });
});
