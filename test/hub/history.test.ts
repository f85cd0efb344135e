import { describe, expect, it, vi } from 'vitest';
import { eventJson, parseEvent } from '../../src/hub/event-json.ts';
import { History, type HeldMessage } from '../../src/hub/history.ts';
import { mergeDeltas } from '../../src/diff/merge-deltas.ts';
import type { QuoteMessage } from '../../src/protocol/messages.ts';

const quote = (seq: number, symbol = 'AIRLINK', price = seq): QuoteMessage => ({
  type: 'quote',
  seq,
  symbol,
  v: seq,
  price,
  ts: '2023-11-09T04:31:00.000Z',
});
const headline = (seq: number, title: string): HeldMessage => ({
  type: 'headline',
  seq,
  id: `s${seq}`,
  dateline: 'KARACHI',
  title,
  text: 'text',
  ts: '2023-11-09T04:31:00.000Z',
});
const plain = (messages: HeldMessage[]) => messages.map((m) => ({ ...m }));

describe('History', () => {
  it('gives back every event exactly, across chunks and index growth, multi-byte text included', () => {
    const history = new History({ size: 100_000, ageMs: 60_000 });
    const events: HeldMessage[] = [];
    // About 3 MB of text: a dozen chunks, and the index doubles several times.
    for (let seq = 1; seq <= 12_000; seq++)
      events.push(
        seq % 100 === 0 ? headline(seq, `کراچی ${'ص'.repeat(seq % 7)} ${'x'.repeat(200)}`) : quote(seq),
      );
    for (const m of events) history.add(m, 0);
    expect(history.length).toBe(12_000);
    expect(plain(history.after(0))).toEqual(plain(events));
    expect(plain(history.after(11_950))).toEqual(plain(events.slice(11_950)));
    expect(history.all().map((e) => e.message.seq)).toEqual(events.map((m) => m.seq));
  });

  it('copies out every held event as its JSON bytes with seq and time, across chunks and eviction', () => {
    const history = new History({ size: 9_000, ageMs: 60_000 });
    const events: HeldMessage[] = [];
    for (let seq = 1; seq <= 12_000; seq++)
      events.push(seq % 100 === 0 ? headline(seq, `کراچی ${'x'.repeat(300)}`) : quote(seq));
    events.forEach((m, i) => history.add(m, i));
    const held = events.slice(-9_000);
    const texts = history.texts();
    const text = (k: number) => {
      const out = Buffer.alloc(texts.lengths[k]!);
      texts.copy(k, out, 0);
      return out.toString();
    };
    expect(held.map((_, k) => text(k))).toEqual(held.map((m) => JSON.stringify(m)));
    expect([...texts.seqs]).toEqual(held.map((m) => m.seq));
    expect([...texts.ats]).toEqual(held.map((_, k) => 3_000 + k));
    // History moving on (evicting every chunk, writing new ones) leaves them as they were.
    for (let seq = 12_001; seq <= 24_000; seq++) history.add(quote(seq, 'HBL', 0), seq);
    expect(held.map((_, k) => text(k))).toEqual(held.map((m) => JSON.stringify(m)));
  });

  it('evicts by count and by age, and its reach is the last seq evicted', () => {
    const history = new History({ size: 3, ageMs: 10 });
    for (let seq = 1; seq <= 5; seq++) history.add(quote(seq), seq);
    expect(history.reach).toBe(2);
    expect(history.after(0).map((m) => m.seq)).toEqual([3, 4, 5]);
    history.evict(14.5);
    expect(history.reach).toBe(4);
    expect(history.after(0).map((m) => m.seq)).toEqual([5]);
    history.evict(100);
    expect([history.length, history.reach]).toEqual([0, 5]);
    history.add(quote(9), 100);
    expect(history.after(5).map((m) => m.seq)).toEqual([9]);
  });

  it('holds seqs with gaps (bars events live elsewhere) and finds the first after any seq', () => {
    const history = new History({ size: 100, ageMs: 60_000 });
    for (const seq of [3, 4, 7, 10]) history.add(quote(seq), 0);
    expect(history.after(5).map((m) => m.seq)).toEqual([7, 10]);
    expect(history.after(7).map((m) => m.seq)).toEqual([10]);
    expect(history.after(10)).toEqual([]);
    history.clear(41);
    expect([history.length, history.reach]).toEqual([0, 41]);
  });

  it('decodes only the events a filter keeps, asking once per symbol', () => {
    const history = new History({ size: 100, ageMs: 60_000 });
    for (let seq = 1; seq <= 30; seq++)
      history.add(seq === 15 ? headline(seq, 'h') : quote(seq, `S${seq % 3}`), 0);
    const asked: string[] = [];
    const parse = vi.spyOn(JSON, 'parse');
    const kept = history.after(0, { wantsQuote: (s) => (asked.push(s), s === 'S1'), wantsHeadlines: false });
    expect(kept.map((m) => m.seq)).toEqual([1, 4, 7, 10, 13, 16, 19, 22, 25, 28]);
    expect(parse).toHaveBeenCalledTimes(10);
    expect(asked.sort()).toEqual(['S0', 'S1', 'S2']);
    parse.mockRestore();
  });
});

describe('eventJson', () => {
  it('serializes an event once, however many writers ask, and a held event is read back with its text', () => {
    const stringify = vi.spyOn(JSON, 'stringify');
    const history = new History({ size: 10, ageMs: 60_000 });
    const m = quote(1);
    history.add(m, 0);
    const text = eventJson(m);
    expect(eventJson(m)).toBe(text);
    const [back] = history.after(0);
    expect(eventJson(back!)).toBe(text);
    expect(stringify).toHaveBeenCalledTimes(1);
    stringify.mockRestore();
  });

  it('does not let a copy (a merged delta) write the text of the event it was copied from', () => {
    const a = parseEvent<QuoteMessage>(JSON.stringify(quote(1)));
    const merged = mergeDeltas(a, { ...quote(2), change: 3 });
    expect(JSON.parse(eventJson(merged))).toEqual({ ...quote(2), change: 3 });
    expect(JSON.parse(eventJson(a))).toEqual(quote(1));
    expect(Object.keys(a)).toEqual(Object.keys(quote(1)));
  });
});
