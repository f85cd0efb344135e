import { repeat } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { dedupeHeadlines } from '../../src/diff/dedupe-headlines.ts';
import type { Headline } from '../../src/protocol/messages.ts';

const h = (id: string): Headline => ({ id, dateline: 'SEOUL', title: id, text: 'text', ts: 't' });
const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('dedupeHeadlines', () => {
  it('passes each story once across frames', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a-b-a-c-b|', { a: h('a'), b: h('b'), c: h('c') });
      expectObservable(src.pipe(dedupeHeadlines())).toBe('a-b---c--|', { a: h('a'), b: h('b'), c: h('c') });
    });
  });

  it('does not announce a story again when a replay loops', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const loop = cold('a-b|', { a: h('a'), b: h('b') }).pipe(repeat(3));
      expectObservable(loop.pipe(dedupeHeadlines())).toBe('a-b------|', { a: h('a'), b: h('b') });
    });
  });

  it('does not announce the ids it is seeded with (a restart)', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a-b|', { a: h('a'), b: h('b') });
      expectObservable(src.pipe(dedupeHeadlines(['a']))).toBe('--b|', { b: h('b') });
    });
  });

  it('forgets the least recently seen id past its capacity, not one that keeps appearing', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // Capacity 2: `a` is seen again before `c` arrives, so `b` is the one forgotten.
      const src = cold('abac-ab|', { a: h('a'), b: h('b'), c: h('c') });
      expectObservable(src.pipe(dedupeHeadlines([], 2))).toBe('ab-c--b|', {
        a: h('a'),
        b: h('b'),
        c: h('c'),
      });
    });
  });
});
