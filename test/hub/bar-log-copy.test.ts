import { describe, expect, it } from 'vitest';
import {
  BarLogChanged,
  BarLogCopy,
  decodeBarLogPiece,
  encodeBarLogPiece,
  PIECE_BARS,
  readBarLog,
  barLogSteps,
  type BarLogWrite,
} from '../../src/hub/bar-log-copy.ts';
import { BarStore } from '../../src/hub/bar-store.ts';
import { Hub } from '../../src/hub/hub.ts';
import type { Bar } from '../../src/protocol/messages.ts';

const hubWith = (barDays: number) =>
  new Hub({ history: { size: 100, ageMs: 600_000 }, headlineCount: 5, epoch: 'E', barDays });

/** A quote of `symbol` at `price`, `minute` minutes into the session of 2023-11-`date`. */
const quoteAt = (hub: Hub, date: number, minute: number, symbol = 'AIRLINK', price = 80 + minute / 100) =>
  hub.apply({
    type: 'quote',
    symbol,
    ts: new Date(Date.UTC(2023, 10, date, 4, 31 + minute)).toISOString(),
    fields: { kind: 'stock', price, change: 1, changePercent: 1, direction: 'up' },
  });

/** The bars a write adds, piece by piece (`<day>:<k>`). */
const piecesOf = (write: BarLogWrite): Map<string, Bar[]> => {
  const pieces = new Map<string, Bar[]>();
  for (const p of write.pieces) {
    const piece = decodeBarLogPiece(`${p.k} of ${p.day}`, write.text(p));
    if (!piece.ok) throw new Error(piece.problem);
    pieces.set(`${p.day}:${p.k}`, piece.value.bars);
  }
  return pieces;
};

describe('a copy of the bar logs, kept bit by bit', () => {
  it('writes a day whole first, then only what its log gained since the write the copy took', () => {
    const hub = hubWith(5);
    for (let m = 0; m < 3; m++) quoteAt(hub, 8, m);
    const copy = new BarLogCopy(() => 'one');
    const first = copy.write(hub.barCopy);
    expect(first).toMatchObject({
      reset: true,
      id: 'one',
      dropped: [],
      ref: { id: 'one', days: { '2023-11-08': 1 } },
    });
    // Two 1m bars went to the log when the next minute's replaced them.
    expect([...piecesOf(first).values()].flat().map((b) => [b.interval, b.start.slice(11, 16)])).toEqual([
      ['1m', '04:31'],
      ['1m', '04:32'],
    ]);
    copy.taken(first);
    expect(copy.write(hub.barCopy)).toMatchObject({ reset: false, pieces: [], dropped: [] });

    for (let m = 3; m < 5; m++) quoteAt(hub, 8, m);
    const second = copy.write(hub.barCopy);
    expect(second).toMatchObject({
      reset: false,
      id: 'one',
      dropped: [],
      ref: { days: { '2023-11-08': 2 } },
    });
    expect(
      [...piecesOf(second)].map(([field, bars]) => [
        field,
        bars.map((b) => `${b.interval} ${b.start.slice(11, 16)}`),
      ]),
    ).toEqual([['2023-11-08:1', ['1m 04:33', '1m 04:34', '5m 04:30']]]);
  });

  it('deletes a day no longer held, and starts over once bars it copied changed', () => {
    const hub = hubWith(2);
    for (let m = 0; m < 3; m++) quoteAt(hub, 8, m);
    for (let m = 0; m < 2; m++) quoteAt(hub, 9, m);
    let ids = 0;
    const copy = new BarLogCopy(() => `id${++ids}`);
    copy.taken(copy.write(hub.barCopy));
    // A third day: the first leaves the store, and its pieces Redis.
    quoteAt(hub, 10, 0);
    const third = copy.write(hub.barCopy);
    expect(third).toMatchObject({ reset: false, id: 'id1', dropped: [{ day: '2023-11-08', pieces: 1 }] });
    expect(Object.keys(third.ref.days)).toEqual(['2023-11-09', '2023-11-10']);
    copy.taken(third);

    // A bar put back over one the log holds (a restore, a replayed close): under one id a piece
    // never changes, so a reader never mixes two versions of the log; the copy starts over.
    const [logged] = hub.barCopy.logBars('2023-11-09', 0, 1).bars;
    hub.accept({ type: 'bars', seq: hub.seq + 1, bars: [{ ...logged!, close: 1, closed: true }] });
    const revised = copy.write(hub.barCopy);
    expect(revised).toMatchObject({ reset: true, id: 'id2', dropped: [] });
    expect([...piecesOf(revised).keys()]).toEqual(['2023-11-09:0']);
    expect(piecesOf(revised).get('2023-11-09:0')![0]!.close).toBe(1);
  });

  it('writes again what Redis did not take, and starts over once Redis lost the copy', () => {
    const hub = hubWith(5);
    for (let m = 0; m < 3; m++) quoteAt(hub, 8, m);
    let ids = 0;
    const copy = new BarLogCopy(() => `id${++ids}`);
    const refused = copy.write(hub.barCopy);
    expect(copy.write(hub.barCopy)).toMatchObject({ reset: true, pieces: refused.pieces });
    copy.taken(refused);
    copy.lost();
    expect(copy.write(hub.barCopy)).toMatchObject({ reset: true, id: 'id3', pieces: refused.pieces });
  });

  it('encodes a piece when it is written, as the log stood at the write, whatever came since', () => {
    const hub = hubWith(2);
    for (let m = 0; m < 3; m++) quoteAt(hub, 8, m);
    const write = new BarLogCopy(() => 'late').write(hub.barCopy);
    const atWrite = piecesOf(write);
    // The day's log gains bars before the piece is encoded: the piece still holds the two it named.
    for (let m = 3; m < 6; m++) quoteAt(hub, 8, m);
    expect(piecesOf(write)).toEqual(atWrite);
    expect([...atWrite.values()].flat()).toHaveLength(2);
  });

  it('refuses to encode a piece of a log changed but by appends since the write', () => {
    const hub = hubWith(2);
    for (let m = 0; m < 3; m++) quoteAt(hub, 8, m);
    const revised = new BarLogCopy().write(hub.barCopy);
    const [logged] = hub.barCopy.logBars('2023-11-08', 0, 1).bars;
    hub.accept({ type: 'bars', seq: hub.seq + 1, bars: [{ ...logged!, close: 1, closed: true }] });
    expect(() => revised.text(revised.pieces[0]!)).toThrow(BarLogChanged);

    const dropped = new BarLogCopy().write(hub.barCopy);
    // Two more trading days with a limit of two: the 8th leaves the store.
    quoteAt(hub, 9, 0);
    quoteAt(hub, 10, 0);
    expect(() => dropped.text(dropped.pieces[0]!)).toThrow(/2023-11-08 changed/);
  });

  it('cuts a long log into pieces of at most PIECE_BARS bars', () => {
    const hub = hubWith(5);
    const symbols = Math.ceil(PIECE_BARS / 2) + 1;
    for (let m = 0; m < 3; m++) for (let s = 0; s < symbols; s++) quoteAt(hub, 8, m, `S${s}`);
    const pieces = piecesOf(new BarLogCopy().write(hub.barCopy));
    expect([...pieces.values()].map((bars) => bars.length)).toEqual([PIECE_BARS, 2 * symbols - PIECE_BARS]);
  });
});

describe('bar log pieces', () => {
  const bar: Bar = {
    symbol: 'HBL',
    interval: '1m',
    start: '2023-11-09T04:31:00.000Z',
    open: 1,
    high: 2,
    low: 1,
    close: 2,
    updates: 3,
    closed: true,
  };

  it('read back what was written, and name what is wrong', () => {
    const piece = { bars: [bar], seqs: [9] };
    expect(decodeBarLogPiece('0 of d', encodeBarLogPiece(piece))).toEqual({ ok: true, value: piece });
    expect(
      decodeBarLogPiece('0 of d', JSON.stringify({ bars: [{ ...bar, high: '2' }], seqs: [9] })),
    ).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^bar log piece 0 of d is not bars with seqs: bars\.0\.high: /),
    });
    expect(decodeBarLogPiece('0 of d', JSON.stringify({ bars: [bar], seqs: [] }))).toMatchObject({
      ok: false,
    });
    expect(decodeBarLogPiece('0 of d', '{"bars":')).toMatchObject({ ok: false });
  });

  it('a copy reads whole, oldest day first, or says which piece is missing or unreadable', () => {
    const ref = { id: 'a', days: { '2023-11-09': 1, '2023-11-08': 2 } };
    /** A piece of one bar of `date`'s minute `minute`. */
    const text = (date: number, minute: number, close: number, seq: number) => {
      const start = new Date(Date.UTC(2023, 10, date, 4, 31 + minute)).toISOString();
      return encodeBarLogPiece({ bars: [{ ...bar, start, close }], seqs: [seq] });
    };
    const files: Record<string, string[]> = {
      '2023-11-08': [text(8, 0, 1, 1), text(8, 1, 2, 2)],
      '2023-11-09': [text(9, 0, 3, 3)],
    };
    const store = new BarStore(5);
    const read = readBarLog(ref, (day) => (k) => files[day]![k], store);
    expect(read).toMatchObject({
      ok: true,
      counts: new Map([
        ['2023-11-08', 2],
        ['2023-11-09', 1],
      ]),
    });
    const held = store.export();
    expect([held.bars.map((b) => b.close), held.seqs]).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    files['2023-11-09'] = [];
    expect(readBarLog(ref, (day) => (k) => files[day]![k], new BarStore(5))).toMatchObject({
      ok: false,
      missing: true,
    });
    files['2023-11-09'] = ['{}'];
    expect(readBarLog(ref, (day) => (k) => files[day]![k], new BarStore(5))).toMatchObject({
      ok: false,
      missing: false,
    });
  });

  it('a copy read step by step hands the loop back after each piece it decodes', () => {
    const ref = { id: 'a', days: { '2023-11-08': 2, '2023-11-09': 1 } };
    const text = encodeBarLogPiece({ bars: [bar], seqs: [1] });
    const decoded: string[] = [];
    const steps = barLogSteps(
      ref,
      (day) => {
        decoded.push(day);
        return () => text;
      },
      new BarStore(5),
    );
    let turns = 0;
    for (let step = steps.next(); !step.done; step = steps.next()) turns++;
    expect([turns, decoded]).toEqual([3, ['2023-11-08', '2023-11-09']]);
  });
});
