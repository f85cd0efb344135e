import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { QuoteMessage } from '../../src/protocol/messages.ts';
import { Throttle } from '../../src/transport/throttle.ts';

const q = (seq: number, fields: Partial<QuoteMessage>): QuoteMessage => ({
  type: 'quote',
  seq,
  symbol: 'HBL',
  v: seq,
  ts: `t${seq}`,
  ...fields,
});

describe('Throttle (maxRate per symbol, virtual time)', () => {
  const run = (offers: [number, QuoteMessage, number | undefined][]) => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    const sent: [number, QuoteMessage][] = [];
    let merges = 0;
    scheduler.run(({ flush }) => {
      const throttle = new Throttle(
        scheduler,
        (m) => sent.push([scheduler.now(), m]),
        () => merges++,
      );
      for (const [at, message, rate] of offers)
        scheduler.schedule(() => {
          const now = throttle.offer(message, rate);
          if (now) sent.push([scheduler.now(), now]);
        }, at);
      flush();
    });
    return { sent, merges };
  };

  it('lets the first delta through and merges the ones within the interval into one, sent when it is up', () => {
    const { sent, merges } = run([
      [0, q(1, { price: 1, direction: 'up' }), 2],
      [100, q(2, { price: 2 }), 2],
      [200, q(3, { price: 3, change: 0.5 }), 2],
      [900, q(4, { price: 4 }), 2],
    ]);
    expect(sent).toEqual([
      [0, q(1, { price: 1, direction: 'up' })],
      // Holds every field changed in either held delta, with the later values.
      [500, q(3, { price: 3, change: 0.5 })],
      [1000, q(4, { price: 4 })],
    ]);
    expect(merges).toBe(1);
  });

  it('sends at once when the interval has passed', () => {
    const { sent } = run([
      [0, q(1, { price: 1 }), 10],
      [100, q(2, { price: 2 }), 10],
      [250, q(3, { price: 3 }), 10],
    ]);
    expect(sent.map(([t]) => t)).toEqual([0, 100, 250]);
  });

  it('releases what is held merged with the next delta when the limit goes away', () => {
    const { sent } = run([
      [0, q(1, { price: 1 }), 1],
      [10, q(2, { change: 2 }), 1],
      [20, q(3, { price: 3 }), undefined],
    ]);
    expect(sent).toEqual([
      [0, q(1, { price: 1 })],
      [20, q(3, { price: 3, change: 2 })],
    ]);
  });

  it('cancels held deltas on dispose, twice safely', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    const sent: QuoteMessage[] = [];
    scheduler.run(({ flush }) => {
      const throttle = new Throttle(scheduler, (m) => sent.push(m));
      throttle.offer(q(1, { price: 1 }), 1);
      throttle.offer(q(2, { price: 2 }), 1);
      throttle.dispose();
      throttle.dispose();
      flush();
    });
    expect(sent).toEqual([]);
  });
});
