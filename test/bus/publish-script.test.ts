import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish, writeBarPieces, writeEventsAhead, type PublishCall } from '../../src/bus/publish-script.ts';
import { busKeys, connectRedis, newLogKey, nextStreamKey, whenReady } from '../../src/bus/redis-store.ts';
import { quietLog } from '../helpers.ts';
import { startRedis, uniquePrefix, type TestRedis } from './redis-server.ts';

describe('the publish script: one atomic, fenced write per batch', () => {
  let redis: TestRedis;
  const link = () => connectRedis(redis.url, 'test-publish', quietLog());
  const call = (over: Partial<PublishCall>): PublishCall => ({
    holder: 'ours',
    leaseMs: 10_000,
    gen: 7,
    maxLen: 1000,
    firstSeq: 1,
    events: [],
    ...over,
  });
  const events = (first: number, n: number) =>
    [...Array(n).keys()].map((i) => JSON.stringify({ seq: first + i }));
  const snapshot = (seq: number) => ({ json: JSON.stringify({ gen: 7, seq }), seq });

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('writes nothing, not even the snapshot, when another ingest holds the lease', async () => {
    const keys = busKeys(uniquePrefix());
    const r = link();
    await whenReady(r);
    const admin = redis.admin();
    await admin.set(keys.ingest, 'theirs', 'PX', 10_000);
    const reply = await publish(r, keys, call({ events: events(1, 3), snapshot: snapshot(3), status: '{}' }));
    expect(reply).toEqual({ kind: 'fenced', by: 'theirs' });
    expect(await admin.exists(keys.events, keys.state, keys.status)).toBe(0);
    expect(await admin.get(keys.ingest)).toBe('theirs');
    r.disconnect();
  });

  it('takes a lease nobody holds, and writes events, snapshot and status together', async () => {
    const keys = busKeys(uniquePrefix());
    const r = link();
    await whenReady(r);
    const admin = redis.admin();
    expect(
      await publish(r, keys, call({ events: events(1, 3), snapshot: snapshot(3), status: '{}' })),
    ).toEqual({
      kind: 'ok',
      seq: 3,
    });
    expect(await admin.xlen(keys.events)).toBe(3);
    expect(await admin.get(keys.ingest)).toBe('ours');
    expect(JSON.parse((await admin.get(keys.state))!)).toEqual({ gen: 7, seq: 3 });
    r.disconnect();
  });

  it('refuses what does not continue the stream, and says where it ends', async () => {
    const keys = busKeys(uniquePrefix());
    const r = link();
    await whenReady(r);
    const admin = redis.admin();
    // No snapshot yet: the stream alone cannot be loaded.
    expect(await publish(r, keys, call({ events: events(1, 2) }))).toEqual({ kind: 'nostate', seq: 0 });
    expect(await publish(r, keys, call({ events: events(1, 2), snapshot: snapshot(2) }))).toMatchObject({
      kind: 'ok',
    });
    // Already there (a retry after a lost reply), a gap, a snapshot that is not at the last event.
    expect(await publish(r, keys, call({ firstSeq: 2, events: events(2, 2) }))).toEqual({
      kind: 'at',
      seq: 2,
    });
    expect(await publish(r, keys, call({ firstSeq: 5, events: events(5, 1) }))).toEqual({
      kind: 'at',
      seq: 2,
    });
    expect(
      await publish(r, keys, call({ firstSeq: 3, events: events(3, 2), snapshot: snapshot(3) })),
    ).toEqual({
      kind: 'at',
      seq: 2,
    });
    expect(await admin.xlen(keys.events)).toBe(2);
    // A gap is refused even with a snapshot (Redis came back empty: the history must be re-sent)…
    const gapped = call({ firstSeq: 5, events: events(5, 1), snapshot: snapshot(5) });
    expect(await publish(r, keys, gapped)).toEqual({ kind: 'at', seq: 2 });
    // …unless the caller cannot fill it and says so; readers resync from the snapshot.
    expect(await publish(r, keys, { ...gapped, gap: true })).toEqual({ kind: 'ok', seq: 5 });
    // A newer epoch's stream is never written under.
    await admin.xadd(keys.events, '9-1', 'm', '{}');
    expect(await publish(r, keys, call({ firstSeq: 6, events: events(6, 1) }))).toEqual({
      kind: 'superseded',
      by: '9-1',
    });
    r.disconnect();
  });

  it('extends the bar log only where Redis holds the copy it extends and every piece named; a reset replaces it', async () => {
    const keys = busKeys(uniquePrefix());
    const r = link();
    await whenReady(r);
    const admin = redis.admin();
    // Pieces "<day>:<k>" hold text; a day dropped goes with all its pieces.
    const bars = (
      reset: boolean,
      id: string,
      add: [string, number, string][],
      drop: [string, number][] = [],
    ) => {
      const texts = new Map(add.map(([day, k, text]) => [`${day}:${k}`, text]));
      return {
        reset,
        id,
        pieces: add.map(([day, k]) => ({ day, k, from: 0, to: 1 })),
        text: ({ day, k }: { day: string; k: number }) => texts.get(`${day}:${k}`)!,
        dropped: drop.map(([day, pieces]) => ({ day, pieces })),
      };
    };
    /** Writes the pieces, then publishes the snapshot that names them. */
    const publishWith = async (over: Partial<PublishCall> & { bars: ReturnType<typeof bars> }) => {
      await writeBarPieces(r, keys, 'ours', over.bars);
      return publish(r, keys, call(over));
    };
    const first = bars(true, 'a', [['d', 0, 'x']]);
    await writeBarPieces(r, keys, 'ours', first);
    // Written aside, under its own key, which expires unless a publish takes it.
    expect(await admin.hgetall(newLogKey(keys, 'a'))).toEqual({ id: 'a', 'd:0': 'x' });
    expect(await admin.pttl(newLogKey(keys, 'a'))).toBeGreaterThan(0);
    expect(
      await publish(r, keys, call({ events: events(1, 1), snapshot: snapshot(1), bars: first })),
    ).toEqual({
      kind: 'ok',
      seq: 1,
    });
    expect(await admin.hgetall(keys.bars)).toEqual({ id: 'a', 'd:0': 'x' });
    expect(await admin.pttl(keys.bars)).toBe(-1);
    expect(await admin.exists(newLogKey(keys, 'a'))).toBe(0);
    // Another copy's id (this ingest lost track, or another wrote it): nothing written, not even events.
    const foreign = {
      firstSeq: 2,
      events: events(2, 1),
      snapshot: snapshot(2),
      bars: bars(false, 'b', [['d', 1, 'y']]),
    };
    expect(await publishWith(foreign)).toEqual({ kind: 'nostate', seq: 1 });
    expect(await admin.hgetall(keys.bars)).toEqual({ id: 'a', 'd:0': 'x' });
    expect(await admin.xlen(keys.events)).toBe(1);
    expect(JSON.parse((await admin.get(keys.state))!)).toEqual({ gen: 7, seq: 1 });
    // A piece named that Redis does not hold (lost between its write and the publish): refused.
    const unwritten = { ...foreign, bars: bars(false, 'a', [['e', 0, 'y']]) };
    expect(await publish(r, keys, call(unwritten))).toEqual({ kind: 'nostate', seq: 1 });
    const extend = { ...foreign, bars: bars(false, 'a', [['e', 0, 'y']], [['d', 1]]) };
    expect(await publishWith(extend)).toEqual({ kind: 'ok', seq: 2 });
    expect(await admin.hgetall(keys.bars)).toEqual({ id: 'a', 'e:0': 'y' });
    // Another ingest's lease: its pieces are not written either.
    await admin.set(keys.ingest, 'theirs', 'PX', 10_000);
    await writeBarPieces(r, keys, 'ours', bars(false, 'a', [['e', 1, 'w']]));
    await writeBarPieces(r, keys, 'ours', bars(true, 'z', [['e', 0, 'w']]));
    expect(await admin.hgetall(keys.bars)).toEqual({ id: 'a', 'e:0': 'y' });
    expect(await admin.exists(newLogKey(keys, 'z'))).toBe(0);
    await admin.del(keys.ingest);
    const reset = {
      firstSeq: 3,
      events: events(3, 1),
      snapshot: snapshot(3),
      bars: bars(true, 'c', [['f', 0, 'z']]),
    };
    expect(await publishWith(reset)).toEqual({ kind: 'ok', seq: 3 });
    expect(await admin.hgetall(keys.bars)).toEqual({ id: 'c', 'f:0': 'z' });
    r.disconnect();
  });

  it('writes events ahead onto the stream when they continue it, else into the next stream a gap publish renames', async () => {
    const keys = busKeys(uniquePrefix());
    const r = link();
    await whenReady(r);
    const admin = redis.admin();
    const ids = async (key: string) => (await admin.xrange(key, '-', '+')).map(([id]) => id);
    const ahead = (into: 'stream' | 'next', firstSeq: number, n: number, holder = 'ours') =>
      writeEventsAhead(
        r,
        keys,
        { holder, gen: 7, maxLen: 1000, into, firstSeq },
        events(firstSeq, n),
        (e) => e,
      );
    expect(await publish(r, keys, call({ events: events(1, 2), snapshot: snapshot(2) }))).toMatchObject({
      kind: 'ok',
    });
    // Onto the stream only where they continue it.
    expect(await ahead('stream', 3, 4)).toBe(4);
    expect(await ahead('stream', 9, 1)).toBe(0);
    expect(await ids(keys.events)).toEqual(['7-1', '7-2', '7-3', '7-4', '7-5', '7-6']);
    // Into a stream of their own, which expires unless a publish takes it; the first batch starts it afresh.
    await admin.xadd(nextStreamKey(keys), '7-100', 'm', 'stale');
    expect(await ahead('next', 20, 3)).toBe(3);
    expect(await ids(nextStreamKey(keys))).toEqual(['7-20', '7-21', '7-22']);
    expect(await admin.pttl(nextStreamKey(keys))).toBeGreaterThan(0);
    expect(await ahead('stream', 7, 1, 'theirs')).toBe(0);
    // Its publish carries the snapshot and says the gap is meant; without either it is refused.
    const staged = call({ firstSeq: 23, events: events(23, 2), staged: true });
    expect(await publish(r, keys, { ...staged, snapshot: snapshot(24) })).toEqual({ kind: 'at', seq: 6 });
    expect(await publish(r, keys, { ...staged, gap: true })).toEqual({ kind: 'at', seq: 6 });
    expect(await publish(r, keys, { ...staged, firstSeq: 24, snapshot: snapshot(25), gap: true })).toEqual({
      kind: 'at',
      seq: 6,
    });
    expect(await ids(keys.events)).toHaveLength(6);
    expect(await publish(r, keys, { ...staged, snapshot: snapshot(24), gap: true })).toEqual({
      kind: 'ok',
      seq: 24,
    });
    expect(await ids(keys.events)).toEqual(['7-20', '7-21', '7-22', '7-23', '7-24']);
    expect(await admin.pttl(keys.events)).toBe(-1);
    expect(await admin.exists(nextStreamKey(keys))).toBe(0);
    r.disconnect();
  });
});
