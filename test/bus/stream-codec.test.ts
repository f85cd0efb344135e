import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBusMetrics } from '../../src/bus/bus-metrics.ts';
import { busKeys, connectRedis, loadCluster, whenReady } from '../../src/bus/redis-store.ts';
import {
  badEntryReporter,
  decodeClusterState,
  decodeEvent,
  decodeStatus,
  encodeClusterState,
  encodeStatus,
  entryId,
  parseEntryId,
} from '../../src/bus/stream-codec.ts';
import type { StatusMessage } from '../../src/protocol/messages.ts';
import { quietLog, recordingLog } from '../helpers.ts';
import { startRedis, uniquePrefix, type TestRedis } from './redis-server.ts';

const quote = { type: 'quote', seq: 5, symbol: 'HBL', v: 1, ts: '2023-11-09T04:30:00.000Z', price: 1 };
const bar = {
  symbol: 'HBL',
  interval: '1m',
  start: '2023-11-09T04:30:00.000Z',
  ...{ open: 1, high: 2, low: 1, close: 2, updates: 3, closed: true },
};
const status: StatusMessage = {
  type: 'status',
  source: 'replay',
  state: 'running',
  market: 'open',
  asOf: '2023-11-09T04:30:00.000Z',
};

describe('the Redis stream codec', () => {
  it('round-trips entry ids and refuses ids the bus never writes', () => {
    expect(parseEntryId(entryId(1700000000000, 42))).toEqual({ gen: 1700000000000, seq: 42 });
    for (const id of ['', '5', '5-', 'a-1', '1-2-3', '-1-2']) expect(parseEntryId(id)).toBeUndefined();
  });

  it.each([
    ['a good event', ['7-5', ['m', JSON.stringify(quote)]], { ok: true, value: { gen: 7, message: quote } }],
    ['a value named like the field', ['7-5', ['x', 'm', 'm', JSON.stringify(quote)]], { ok: true }],
    ['no m field', ['7-5', ['x', '1']], { ok: false, problem: 'entry 7-5 has no "m" field' }],
    [
      'a bad id',
      ['seven', ['m', '{}']],
      { ok: false, problem: 'entry seven has an id the bus never writes' },
    ],
    [
      'not JSON',
      ['7-5', ['m', '{']],
      { ok: false, problem: expect.stringMatching(/^entry 7-5 is not JSON: /) },
    ],
    ['another seq', ['7-6', ['m', JSON.stringify(quote)]], { ok: false, problem: 'entry 7-6 holds seq 5' }],
    ['JSON null', ['7-5', ['m', 'null']], { ok: false, problem: 'entry 7-5 holds seq none' }],
    [
      'a quote whose price is text',
      ['7-5', ['m', JSON.stringify({ ...quote, price: '1x' })]],
      { ok: false, problem: expect.stringMatching(/^entry 7-5 is not a hub event: price: /) },
    ],
    [
      'a bars event with an unreadable start',
      ['7-5', ['m', JSON.stringify({ type: 'bars', seq: 5, bars: [{ ...bar, start: 'soon' }] })]],
      { ok: false, problem: expect.stringMatching(/^entry 7-5 is not a hub event: bars\.0\.start: /) },
    ],
    ['a bars event', ['7-5', ['m', JSON.stringify({ type: 'bars', seq: 5, bars: [bar] })]], { ok: true }],
  ] as const)('decodes an event entry: %s', (_, entry, expected) => {
    expect(decodeEvent([entry[0], [...entry[1]]])).toMatchObject(expected);
  });

  it('decodes what it encodes, and names what it cannot decode', () => {
    expect(decodeStatus(['1-0', ['s', encodeStatus(status)]])).toEqual({ ok: true, value: status });
    expect(decodeStatus(['1-0', ['s', '[]']])).toEqual({
      ok: false,
      problem: 'status entry 1-0 is not a status',
    });
    expect(decodeStatus(['1-0', []])).toEqual({ ok: false, problem: 'status entry 1-0 has no "s" field' });
    const state = { gen: 1, epoch: 'e', seq: 3, quotes: [], headlines: [] };
    expect(decodeClusterState(encodeClusterState(state))).toEqual({ ok: true, value: state });
    expect(decodeClusterState('{"gen":1}')).toMatchObject({ ok: false });
    expect(decodeClusterState('oops')).toMatchObject({ ok: false });
  });

  it('refuses a snapshot whose bar log reference is malformed', () => {
    const state = { gen: 1, epoch: 'E', seq: 2, quotes: [], headlines: [] };
    const named = { ...state, barLog: { id: 'a', days: { '2023-11-09': 2 } } };
    expect(decodeClusterState(JSON.stringify(named))).toEqual({ ok: true, value: named });
    expect(
      decodeClusterState(JSON.stringify({ ...state, barLog: { id: 'a', days: { yesterday: 2 } } })),
    ).toMatchObject({ ok: false, problem: expect.stringContaining('bar log') });
    expect(decodeClusterState(JSON.stringify({ ...state, barLog: { id: '../x', days: {} } }))).toMatchObject({
      ok: false,
    });
  });

  it('reports a bad entry one way: an error log line and the metric', async () => {
    const registry = new Registry();
    const metrics = createBusMetrics(registry, { up: () => true, lag: () => 0, ingest: () => true });
    const { log, records } = recordingLog();
    badEntryReporter(log, metrics)('entry 7-5 has no "m" field');
    expect(records).toMatchObject([{ level: 50, problem: 'entry 7-5 has no "m" field' }]);
    expect((await metrics.badEntries.get()).values[0]?.value).toBe(1);
  });
});

describe('loading a cluster that holds garbage', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.stop());

  it('reports an unreadable snapshot and status instead of crashing, and loads as if none', async () => {
    const keys = busKeys(uniquePrefix());
    const admin = redis.admin();
    await admin.set(keys.state, 'not json');
    await admin.xadd(keys.status, '*', 's', '{');
    await admin.xadd(keys.events, '9-1', 'm', '{');
    const link = connectRedis(redis.url, 'test', quietLog());
    try {
      await whenReady(link);
      const problems: string[] = [];
      const loaded = await loadCluster(
        link,
        keys,
        { history: { size: 10, ageMs: 60_000 }, headlineCount: 5 },
        (p) => problems.push(p),
      );
      expect(loaded).toEqual({ topGen: 9 });
      expect(problems).toEqual([
        expect.stringMatching(/^status entry \d+-\d+ is not JSON/),
        expect.stringMatching(/^the cluster state is not JSON/),
      ]);
    } finally {
      link.disconnect();
    }
  });
});
