import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BarLogCopy, PIECE_BARS, type BarLogWrite } from '../../src/bus/bar-log.ts';
import { busKeys, loadCluster, type ClusterState } from '../../src/bus/redis-store.ts';
import { decodeBarLogPiece } from '../../src/bus/stream-codec.ts';
import { Hub } from '../../src/hub/hub.ts';
import type { Bar } from '../../src/protocol/messages.ts';
import { waitFor } from '../helpers.ts';
import { startNode, tick, type Node } from './cluster.ts';
import { startRedis, uniquePrefix, type TestRedis } from './redis-server.ts';

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

/** The bars a write sets, piece by piece. */
const piecesOf = (write: BarLogWrite): Map<string, Bar[]> => {
  const pieces = new Map<string, Bar[]>();
  for (let i = 0; i < write.set.length; i += 2) {
    const piece = decodeBarLogPiece(write.set[i]!, write.set[i + 1]!);
    if (!piece.ok) throw new Error(piece.problem);
    pieces.set(write.set[i]!, piece.value.bars);
  }
  return pieces;
};

/** Bars as comparable keys, each with its seq. */
const keyed = (bars: readonly Bar[], seqs: readonly number[]) =>
  bars.map((b, i) => `${b.symbol} ${b.interval} ${b.start} ${b.close} ${b.updates} ${seqs[i]}`).sort();

describe('the bar log: the bars before each latest, copied to Redis bit by bit', () => {
  it('writes a day whole first, then only what its log gained since the write Redis took', () => {
    const hub = hubWith(5);
    for (let m = 0; m < 3; m++) quoteAt(hub, 8, m);
    const copy = new BarLogCopy(() => 'one');
    const first = copy.write(hub.barCopy);
    expect(first).toMatchObject({
      reset: true,
      id: 'one',
      del: [],
      ref: { id: 'one', days: { '2023-11-08': 1 } },
    });
    // Two 1m bars went to the log when the next minute's replaced them.
    expect([...piecesOf(first).values()].flat().map((b) => [b.interval, b.start.slice(11, 16)])).toEqual([
      ['1m', '04:31'],
      ['1m', '04:32'],
    ]);
    copy.taken(first);
    expect(copy.write(hub.barCopy)).toMatchObject({ reset: false, set: [], del: [] });

    for (let m = 3; m < 5; m++) quoteAt(hub, 8, m);
    const second = copy.write(hub.barCopy);
    expect(second).toMatchObject({ reset: false, id: 'one', del: [], ref: { days: { '2023-11-08': 2 } } });
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
    expect(third).toMatchObject({ reset: false, id: 'id1', del: ['2023-11-08:0'] });
    expect(Object.keys(third.ref.days)).toEqual(['2023-11-09', '2023-11-10']);
    copy.taken(third);

    // A bar put back over one the log holds (a restore, a replayed close): under one id a piece
    // never changes, so a reader never mixes two versions of the log; the copy starts over.
    const [logged] = hub.barCopy.logBars('2023-11-09', 0, 1).bars;
    hub.accept({ type: 'bars', seq: hub.seq + 1, bars: [{ ...logged!, close: 1, closed: true }] });
    const revised = copy.write(hub.barCopy);
    expect(revised).toMatchObject({ reset: true, id: 'id2', del: [] });
    expect([...piecesOf(revised).keys()]).toEqual(['2023-11-09:0']);
    expect(piecesOf(revised).get('2023-11-09:0')![0]!.close).toBe(1);
  });

  it('writes again what Redis did not take, and starts over once Redis lost the copy', () => {
    const hub = hubWith(5);
    for (let m = 0; m < 3; m++) quoteAt(hub, 8, m);
    let ids = 0;
    const copy = new BarLogCopy(() => `id${++ids}`);
    const refused = copy.write(hub.barCopy);
    expect(copy.write(hub.barCopy)).toMatchObject({ reset: true, set: refused.set });
    copy.taken(refused);
    copy.lost();
    expect(copy.write(hub.barCopy)).toMatchObject({ reset: true, id: 'id3', set: refused.set });
  });

  it('cuts a long log into pieces of at most PIECE_BARS bars', () => {
    const hub = hubWith(5);
    const symbols = Math.ceil(PIECE_BARS / 2) + 1;
    for (let m = 0; m < 3; m++) for (let s = 0; s < symbols; s++) quoteAt(hub, 8, m, `S${s}`);
    const pieces = piecesOf(new BarLogCopy().write(hub.barCopy));
    expect([...pieces.values()].map((bars) => bars.length)).toEqual([PIECE_BARS, 2 * symbols - PIECE_BARS]);
  });
});

describe('the bar log in Redis', () => {
  let redis: TestRedis;
  const nodes: Node[] = [];
  const start = async (...args: Parameters<typeof startNode>) => {
    const node = await startNode(...args);
    nodes.push(node);
    return node;
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.running.close()));
  });

  /** Ten frames a minute apart on 2023-11-`date`. */
  const tradeDay = (node: Node, date: number) => {
    for (let m = 0; m < 10; m++)
      node.frames$.next({
        ...tick(date * 100 + m),
        capturedAt: new Date(Date.UTC(2023, 10, date, 4, 31 + m)),
      });
  };
  const stateOf = async (prefix: string): Promise<ClusterState> =>
    JSON.parse((await redis.admin().get(busKeys(prefix).state))!) as ClusterState;
  const snapshotAt = (prefix: string, node: Node) =>
    waitFor(async () => (await stateOf(prefix)).seq === node.running.hub.seq, 'the snapshot at the head');

  it('snapshots carry each latest bar only; an edge that joins later holds every bar at its seq', async () => {
    const prefix = uniquePrefix();
    const keys = busKeys(prefix);
    const ingest = await start('ingest', redis.url, prefix, { barDays: 2, snapshotMs: 20 });
    tradeDay(ingest, 8);
    tradeDay(ingest, 9);
    await snapshotAt(prefix, ingest);
    const held = ingest.running.hub.exportState();
    const state = await stateOf(prefix);
    // Three symbols, five intervals: the snapshot's size no longer grows with the days held.
    expect(state.bars!.length).toBeLessThanOrEqual(15);
    expect(held.bars!.length).toBeGreaterThan(60);
    expect(Object.keys(state.barLog!.days)).toEqual(['2023-11-08', '2023-11-09']);
    const dayEight = await redis.admin().hget(keys.bars, '2023-11-08:0');

    const late = await start('edge', redis.url, prefix, { barDays: 2 });
    await waitFor(() => late.running.hub.seq === ingest.running.hub.seq, 'the late edge in step');
    const loaded = late.running.hub.exportState();
    expect(keyed(loaded.bars!, loaded.barSeqs!)).toEqual(keyed(held.bars!, held.barSeqs!));

    // A third day: the first leaves Redis with the store, and a day once copied is not written again.
    const written: string[] = [];
    const watch = redis.admin().duplicate();
    await watch
      .monitor()
      .then((monitor) => monitor.on('monitor', (_t, args: string[]) => written.push(args.join(' '))));
    tradeDay(ingest, 10);
    await snapshotAt(prefix, ingest);
    watch.disconnect();
    expect(await redis.admin().hexists(keys.bars, '2023-11-08:0')).toBe(0);
    expect(await redis.admin().hkeys(keys.bars)).toContain('2023-11-09:0');
    const sets = (field: string) => written.filter((w) => w.startsWith(`HSET ${keys.bars} ${field} `));
    expect(sets('2023-11-10:0').length).toBeGreaterThan(0);
    expect(sets('2023-11-09:0')).toEqual([]);
    expect(dayEight).not.toBeNull();
  });

  it('loads a snapshot of the older kind, every bar inside it', async () => {
    const prefix = uniquePrefix();
    const keys = busKeys(prefix);
    const hub = hubWith(5);
    for (let m = 0; m < 4; m++) quoteAt(hub, 8, m);
    const { bars, barSeqs } = hub.exportState();
    const old: ClusterState = {
      gen: 1,
      epoch: 'E',
      seq: hub.seq,
      quotes: hub.snapshot(),
      headlines: [],
      bars,
      barSeqs,
    };
    await redis.admin().set(keys.state, JSON.stringify(old));
    const loaded = await loadCluster(
      redis.admin(),
      keys,
      { history: { size: 10, ageMs: 60_000 }, headlineCount: 5, barDays: 5 },
      (problem) => {
        throw new Error(problem);
      },
    );
    expect(keyed(loaded.state!.bars!, loaded.state!.barSeqs!)).toEqual(keyed(bars!, barSeqs!));
  });
});
