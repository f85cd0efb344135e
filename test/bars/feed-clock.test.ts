import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { feedClock } from '../../src/bars/feed-clock.ts';

const at = (hhmmss: string) => Date.parse(`2023-11-09T${hhmmss}.000Z`);
const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('the feed clock', () => {
  it('ticks each whole minute the feed reaches, running on at the replay speed between inputs', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // 04:31:20, then nothing: at speed 2 the next minutes come 20 s and 50 s on.
      const clock = feedClock(cold('t', { t: at('04:31:20') }), 2);
      expectObservable(clock, '^ 60s !').toBe('20s a 29999ms b', { a: at('04:32:00'), b: at('04:33:00') });
    });
  });

  it('never ticks before the latest input says the minute is reached, when the feed falls behind', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // 30 s on, the feed says 04:31:40, ten seconds behind its pace: 04:32 comes 20 s later.
      const inputs = cold('t 29999ms u', { t: at('04:31:20'), u: at('04:31:40') });
      expectObservable(feedClock(inputs, 1), '^ 55s !').toBe('50s a', { a: at('04:32:00') });
    });
  });

  it('comes sooner when an input puts the minute sooner, beyond a slack of 100 ms', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // 10 s on, the feed says 04:31:50, twenty seconds ahead: 04:32 comes at 20 s, not 40 s.
      const ahead = cold('t 9999ms u', { t: at('04:31:20'), u: at('04:31:50') });
      expectObservable(feedClock(ahead, 1), '^ 30s !').toBe('20s a', { a: at('04:32:00') });
      // 50 ms ahead is within the slack: the tick stays where it was set.
      const jitter = cold('t 9999ms u', { t: at('04:31:20'), u: at('04:31:30') + 50 });
      expectObservable(feedClock(jitter, 1), '^ 45s !').toBe('40s a', { a: at('04:32:00') });
    });
  });

  it('passes over an input that is no time, and goes on from the next one', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const inputs = cold('t 9999ms n 9999ms u', { t: at('04:31:20'), n: NaN, u: at('04:31:40') });
      expectObservable(feedClock(inputs, 1), '^ 45s !').toBe('40s a', { a: at('04:32:00') });
    });
  });
});
