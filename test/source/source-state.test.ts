import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/source/frame.ts';
import { trackState } from '../../src/source/source-state.ts';

const frame: Frame = { text: 'BOP 5.30 Increased By ▲ 0.04 (0.76%)', origin: 'test' };
const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('trackState', () => {
  it('goes stale when no frame comes within the bound, and running again on the next', () => {
    marbles().run(({ cold, expectObservable }) => {
      const tracked = trackState(cold('f 99ms f 299ms f 9ms |', { f: frame }), { staleAfterMs: 200 });
      expectObservable(tracked.frames$).toBe('f 99ms f 299ms f 9ms |', { f: frame });
      expectObservable(tracked.state$).toBe('r 299ms s 99ms r 9ms e', {
        r: 'running',
        s: 'stale',
        e: 'ended',
      });
    });
  });

  it('ends when the source completes and never goes stale after', () => {
    marbles().run(({ cold, expectObservable }) => {
      const tracked = trackState(cold('f|', { f: frame }), { staleAfterMs: 5 });
      expectObservable(tracked.frames$).toBe('f|', { f: frame });
      expectObservable(tracked.state$, '^ 100ms !').toBe('re', { r: 'running', e: 'ended' });
    });
  });

  it('turns stale when the source fails', () => {
    marbles().run(({ cold, expectObservable }) => {
      const tracked = trackState(cold('f-#', { f: frame }));
      expectObservable(tracked.frames$).toBe('f-#', { f: frame });
      expectObservable(tracked.state$).toBe('r-s', { r: 'running', s: 'stale' });
    });
  });

  it('is stale at once while the source says it is failing, whatever frames still come', () => {
    marbles().run(({ cold, expectObservable }) => {
      const failing$ = cold('5ms t 9ms u', { t: true, u: false });
      const tracked = trackState(cold('f 9ms f 19ms f|', { f: frame }), { staleAfterMs: 100, failing$ });
      expectObservable(tracked.frames$).toBe('f 9ms f 19ms f|', { f: frame });
      expectObservable(tracked.state$).toBe('r 4ms s 9ms r 15ms e', {
        r: 'running',
        s: 'stale',
        e: 'ended',
      });
    });
  });

  it('stops its stale timer when unsubscribed', () => {
    marbles().run(({ cold, expectObservable, flush }) => {
      const tracked = trackState(cold('f', { f: frame }), { staleAfterMs: 50 });
      expectObservable(tracked.frames$, '^ 10ms !').toBe('f', { f: frame });
      expectObservable(tracked.state$).toBe('r', { r: 'running' });
      flush();
    });
  });
});
