import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { skipPublished } from '../../src/pipeline.ts';
import type { Frame } from '../../src/source/frame.ts';

const frame = (iso?: string): Frame => ({
  text: '',
  origin: iso ?? 'untimed',
  ...(iso && { capturedAt: new Date(iso) }),
});
const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const a = frame('2023-11-09T04:31:00.000Z');
const b = frame('2023-11-09T04:32:00.000Z');
const c = frame('2023-11-09T04:33:00.000Z');

describe('skipPublished (a replay restarted on its data dir)', () => {
  it('skips frames captured before the last published time, keeps that frame and all after, and says how many', () => {
    scheduler().run(({ cold, expectObservable, flush }) => {
      const reports: number[] = [];
      const frames = cold('abcab|', { a, b, c });
      expectObservable(frames.pipe(skipPublished(b.capturedAt!.toISOString(), (n) => reports.push(n)))).toBe(
        '-bcab|',
        { a, b, c },
      );
      flush();
      expect(reports).toEqual([1]);
    });
  });

  it('passes everything when nothing was published, or when frames carry no time', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const u = frame();
      expectObservable(cold('ab|', { a, b }).pipe(skipPublished(undefined, () => {}))).toBe('ab|', { a, b });
      expectObservable(cold('ua|', { u, a }).pipe(skipPublished(c.capturedAt!.toISOString(), () => {}))).toBe(
        'ua|',
        { u, a },
      );
    });
  });

  it('reports a feed that held nothing new when it ends', () => {
    scheduler().run(({ cold, expectObservable, flush }) => {
      const reports: number[] = [];
      expectObservable(
        cold('ab|', { a, b }).pipe(skipPublished('2024-01-01T00:00:00.000Z', (n) => reports.push(n))),
      ).toBe('--|');
      flush();
      expect(reports).toEqual([2]);
    });
  });
});
