import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/source/frame.ts';
import { replay } from '../../src/source/replay.ts';
import { inWindow, parseTimeBound } from '../../src/source/time-window.ts';

const at = (iso: string, text = iso): Frame => ({ text, capturedAt: new Date(iso), origin: 'test' });
const untimed = (text: string): Frame => ({ text, origin: 'test' });
// Three frames 10 s and 20 s apart.
const day = [
  at('2023-11-09T04:30:00Z', 'a'),
  at('2023-11-09T04:30:10Z', 'b'),
  at('2023-11-09T04:30:30Z', 'c'),
];
const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const texts = map((f: Frame) => f.text);

describe('replay', () => {
  it('keeps the recorded spacing divided by --speed', () => {
    marbles().run(({ expectObservable }) => {
      expectObservable(replay(day, { speed: 1, intervalMs: 1000, loop: false }).pipe(texts)).toBe(
        'a 9999ms b 19999ms (c|)',
      );
      expectObservable(replay(day, { speed: 10, intervalMs: 1000, loop: false }).pipe(texts)).toBe(
        'a 999ms b 1999ms (c|)',
      );
    });
  });

  it('replays everything at once at --speed 0', () => {
    marbles().run(({ expectObservable }) => {
      expectObservable(replay(day, { speed: 0, intervalMs: 1000, loop: false }).pipe(texts)).toBe('(abc|)');
    });
  });

  it('spaces frames without a time by --interval', () => {
    marbles().run(({ expectObservable }) => {
      const frames = [untimed('a'), untimed('b'), at('2023-11-09T04:30:00Z', 'c')];
      expectObservable(replay(frames, { speed: 5, intervalMs: 300, loop: false }).pipe(texts)).toBe(
        'a 299ms b 299ms (c|)',
      );
    });
  });

  it('loops with one interval between passes, moving each pass a week on so ts never goes back', () => {
    marbles().run(({ expectObservable }) => {
      const looped = replay(day, { speed: 10, intervalMs: 500, loop: true }).pipe(
        map((f) => f.capturedAt!.toISOString()),
      );
      expectObservable(looped, '^ 7100ms !').toBe('a 999ms b 1999ms c 499ms d 999ms e 1999ms f 499ms g', {
        a: '2023-11-09T04:30:00.000Z',
        b: '2023-11-09T04:30:10.000Z',
        c: '2023-11-09T04:30:30.000Z',
        d: '2023-11-16T04:30:00.000Z',
        e: '2023-11-16T04:30:10.000Z',
        f: '2023-11-16T04:30:30.000Z',
        g: '2023-11-23T04:30:00.000Z',
      });
    });
  });
  it('goes on after a restart point at once, without waiting out the frames already published', () => {
    marbles().run(({ expectObservable }) => {
      const resumed = replay(day, {
        speed: 1,
        intervalMs: 1000,
        loop: false,
        resumeAfter: '2023-11-09T04:30:05.000Z',
      });
      expectObservable(resumed.pipe(texts)).toBe('b 19999ms (c|)');
      const done = replay(day, {
        speed: 1,
        intervalMs: 1000,
        loop: false,
        resumeAfter: '2023-11-10T00:00:00.000Z',
      });
      expectObservable(done.pipe(texts)).toBe('|');
    });
  });

  it('finds the restart point in a later pass of a loop, and loops on from there', () => {
    marbles().run(({ expectObservable }) => {
      const looped = replay(day, {
        speed: 10,
        intervalMs: 500,
        loop: true,
        resumeAfter: '2023-11-16T04:30:10.000Z',
      });
      expectObservable(looped.pipe(map((f) => f.capturedAt!.toISOString())), '^ 3000ms !').toBe(
        'b 1999ms c 499ms d',
        { b: '2023-11-16T04:30:10.000Z', c: '2023-11-16T04:30:30.000Z', d: '2023-11-23T04:30:00.000Z' },
      );
      const afterPass = replay(day, {
        speed: 10,
        intervalMs: 500,
        loop: true,
        resumeAfter: '2023-11-16T05:00:00.000Z',
      });
      expectObservable(afterPass.pipe(map((f) => f.capturedAt!.toISOString())), '^ 100ms !').toBe('d', {
        d: '2023-11-23T04:30:00.000Z',
      });
    });
  });
});

describe('--from / --to', () => {
  const frames = [
    at('2023-11-09T04:30:00Z'),
    at('2023-11-09T05:00:00Z'),
    at('2023-11-09T05:59:59Z'),
    at('2023-11-09T06:00:00Z'),
    untimed('no time'),
  ];
  const kept = (from?: string, to?: string) =>
    frames
      .filter(
        inWindow(
          from === undefined ? undefined : parseTimeBound('from', from),
          to === undefined ? undefined : parseTimeBound('to', to),
        ),
      )
      .map((f) => f.text);

  it('keeps frames captured in [from, to), given as ISO-8601 instants', () => {
    expect(kept('2023-11-09T05:00:00Z', '2023-11-09T06:00:00Z')).toEqual([
      '2023-11-09T05:00:00Z',
      '2023-11-09T05:59:59Z',
      'no time',
    ]);
  });

  it('reads HH:MM as a time of day in Asia/Karachi', () => {
    expect(kept('10:00', '11:00')).toEqual(kept('2023-11-09T05:00:00Z', '2023-11-09T06:00:00Z'));
    expect(kept(undefined, '09:31')).toEqual(['2023-11-09T04:30:00Z', 'no time']);
  });

  it('rejects a bound that is neither, naming the flag', () => {
    expect(() => parseTimeBound('from', 'noon')).toThrow(/--from must be an ISO-8601 time or HH:MM/);
    expect(() => parseTimeBound('to', '25:00')).toThrow(/--to/);
  });

  it('rejects an hour without minutes instead of reading it as a date in 2001', () => {
    // Date.parse takes "10" as 2001-10-01 and "930" as the year 930: a window no frame is in.
    for (const raw of ['10', '9.30', '930', '1030'])
      expect(() => parseTimeBound('from', raw)).toThrow(/--from must be an ISO-8601 time or HH:MM/);
    expect(parseTimeBound('to', '2023-11-09')).toEqual({ at: Date.parse('2023-11-09T00:00:00Z') });
    expect(parseTimeBound('to', '2023-11-09T10:00:00+05:00')).toEqual({
      at: Date.parse('2023-11-09T05:00:00Z'),
    });
  });
});
