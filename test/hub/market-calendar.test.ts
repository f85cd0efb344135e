import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { marketState } from '../../src/hub/market-calendar.ts';
import { marketStates } from '../../src/hub/market-status.ts';

const at = (iso: string) => new Date(iso);
const ms = (iso: string) => Date.parse(iso);
const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('marketState (PSX, Asia/Karachi = UTC+5)', () => {
  it.each([
    ['2023-11-09T04:14:59Z', 'closed', 'Thursday 09:14'],
    ['2023-11-09T04:15:00Z', 'pre-open', 'Thursday 09:15'],
    ['2023-11-09T04:30:00Z', 'open', 'Thursday 09:30'],
    ['2023-11-09T10:29:59Z', 'open', 'Thursday 15:29'],
    ['2023-11-09T10:30:00Z', 'closed', 'Thursday 15:30'],
    ['2023-11-10T04:00:00Z', 'pre-open', 'Friday 09:00'],
    ['2023-11-10T04:15:00Z', 'open', 'Friday 09:15'],
    ['2023-11-10T07:00:00Z', 'closed', 'Friday 12:00 (midday break)'],
    ['2023-11-10T09:15:00Z', 'pre-open', 'Friday 14:15'],
    ['2023-11-10T09:30:00Z', 'open', 'Friday 14:30'],
    ['2023-11-10T11:30:00Z', 'closed', 'Friday 16:30'],
    ['2023-11-11T05:00:00Z', 'closed', 'Saturday 10:00'],
    ['2023-11-12T05:00:00Z', 'closed', 'Sunday 10:00'],
    ['2023-11-12T19:00:00Z', 'closed', 'Monday 00:00'],
  ])('%s is %s (%s)', (time, state) => {
    expect(marketState(at(time))).toBe(state);
  });

  it('is closed all day on a holiday, by the Karachi date', () => {
    const holidays = new Set(['2023-11-09']);
    expect(marketState(at('2023-11-09T05:00:00Z'), holidays)).toBe('closed');
    // 23:30 UTC on the 8th is already the 9th in Karachi.
    expect(marketState(at('2023-11-08T19:00:00Z'), holidays)).toBe('closed');
    expect(marketState(at('2023-11-08T05:00:00Z'), holidays)).toBe('open');
  });
});

describe('marketStates (on the feed clock)', () => {
  it('moves to open and then closed as feed time passes, without another frame', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const frames = cold('a', { a: ms('2023-11-09T04:29:00Z') });
      expectObservable(frames.pipe(marketStates()), '^ 420m !').toBe('a 59999ms b 21599999ms c', {
        a: 'pre-open',
        b: 'open',
        c: 'closed',
      });
    });
  });

  it('runs the clock at the replay speed between frames', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const frames = cold('a', { a: ms('2023-11-09T04:29:00Z') });
      expectObservable(frames.pipe(marketStates({ rate: 60 })), '^ 2s !').toBe('a 999ms b', {
        a: 'pre-open',
        b: 'open',
      });
    });
  });

  it('follows the time of each frame, and says nothing when the state stays the same', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const frames = cold('a-b-c', {
        a: ms('2023-11-09T05:00:00Z'),
        b: ms('2023-11-09T06:00:00Z'),
        c: ms('2023-11-09T12:00:00Z'),
      });
      expectObservable(frames.pipe(marketStates()), '^ 10ms !').toBe('a---c', { a: 'open', c: 'closed' });
    });
  });

  it('leaves the running clock alone for a frame within 100 ms of it, and still turns at the boundary', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // At b the clock set by a reads 09:29:59.980 and b says 09:30:00.030: the clock's own timer
      // opens the market at 09:30:00.000, 40 ms after a, not b.
      const frames = cold('a 19ms b', {
        a: ms('2023-11-09T04:29:59.960Z'),
        b: ms('2023-11-09T04:30:00.030Z'),
      });
      expectObservable(frames.pipe(marketStates()), '^ 100ms !').toBe('a 39ms b', {
        a: 'pre-open',
        b: 'open',
      });
    });
  });

  it('stays closed through a holiday session', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const frames = cold('a', { a: ms('2023-11-09T04:00:00Z') });
      const holidays = new Set(['2023-11-09']);
      expectObservable(frames.pipe(marketStates({ holidays })), '^ 720m !').toBe('a', { a: 'closed' });
    });
  });
});
