import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { changeBursts, QuoteGenerator, tickerLine } from '../../bench/feed.ts';
import { evaluateGoals } from '../../bench/goals.ts';
import { Histogram } from '../../bench/histogram.ts';
import { measureMemory } from '../../bench/memory.ts';
import { buildNativeLoadgen, type NativeBuild } from '../../bench/native-load.ts';
import { runOnce } from '../../bench/run.ts';
import type { SummaryRow } from '../../bench/summary.ts';
import { summaryRow } from './summary-row.ts';
import { parseText } from '../../src/parse/parse-text.ts';

describe('fan-out bench feed', () => {
  it('offers rate × duration changes in bursts every tick, then ends', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ expectObservable }) => {
      const sizes$ = changeBursts(new QuoteGenerator(), 1000, 50).pipe(map((burst) => burst.length));
      expectObservable(sizes$).toBe('10ms a 9ms a 9ms a 9ms a 9ms a 9ms |', { a: 10 });
    });
  });

  it('writes ticker lines the parser reads back as clean quotes', () => {
    const generator = new QuoteGenerator();
    const quotes = [...generator.all(), ...Array.from({ length: 1000 }, () => generator.next())];
    const events = parseText(quotes.map(tickerLine).join('\n'));
    expect(events.filter((e) => e.type === 'quote' && !e.suspect)).toHaveLength(quotes.length);
  });
});

describe('latency histogram', () => {
  it('reports percentiles within its 1% bucket width', () => {
    const h = new Histogram();
    for (let ms = 1; ms <= 1000; ms++) h.record(ms);
    expect(h.percentile(0.5)).toBeGreaterThanOrEqual(500);
    expect(h.percentile(0.5)).toBeLessThan(500 * 1.02);
    expect(h.percentile(0.99)).toBeLessThan(990 * 1.02);
  });
});

describe('issue 8 goals', () => {
  const row = (server: SummaryRow['server'], perCpuSec: number, cpuPerM: number): SummaryRow =>
    summaryRow(server, {
      deliveriesPerSec: perCpuSec,
      deliveriesPerCpuSec: perCpuSec,
      cpuSecPerMillion: cpuPerM,
      ...{ p50: 2, p99: 10, p999: 15, p99Min: 10, p99Max: 10 },
      ...{ rssIdleKBPerConn: 8, rssLoadKBPerConn: 9 },
    });

  it('judges the ticker-load goal from ratios between servers of the same run', () => {
    const peers = [row('ws', 60_000, 16), row('sio-emit', 100_000, 10), row('sio-batch', 3e6, 0.3)];
    const fast = evaluateGoals([row('tickstream', 2e6, 0.2), ...peers])[0]!;
    const slow = evaluateGoals([row('tickstream', 1e6, 0.3), ...peers])[0]!;
    expect(fast.met).toBe(true);
    expect(slow.met).toBe(false);
    expect(slow.measured).toContain('10.00× sio-emit');
  });

  it('leaves a goal unjudged when its workload was not run', () => {
    const [ticker, , , memory] = evaluateGoals([row('tickstream', 2e6, 0.2)]);
    expect(ticker!.met).toBeUndefined();
    expect(memory!.met).toBeUndefined();
    expect(memory!.measured).not.toContain('undefined');
  });
});

// Real processes over real sockets, a workload small enough to finish in seconds.
describe.concurrent('fan-out bench run', () => {
  const workload = { subscribers: 6, rate: 100, durationMs: 1000, stalled: 0, seed: 1 };
  // Every delivery is counted: the drain waits its whole time for a server starved by the tests
  // running beside this one, instead of stopping after 2 s without a delivery.
  const options = { loadGenerators: 2, warmupMs: 200, drainMs: 3000, stallMs: 3000 };
  // Built once, before the concurrent runs start, so the compiler does not run beside them.
  let native: NativeBuild;
  beforeAll(() => {
    native = buildNativeLoadgen();
  });

  it('counts every delivery tickstream makes to clients of 5 random symbols', async () => {
    const r = await runOnce('tickstream', { ...workload, symbols: 5 }, options);
    expect(r.expected).toBeGreaterThan(0);
    expect(r.delivered).toBe(r.expected);
    expect(r.bytesPerDelivery).toBeGreaterThan(50);
    // Every sample timed from the feed's table of send times, not the millisecond `ts`.
    expect(r.latencyMs.samples).toBeGreaterThan(0);
    expect(r.latencyMs.hiRes).toBe(1);
    // One process is the whole server, so its collector's record counts for the run.
    expect(r.gc?.major.count).toBeGreaterThanOrEqual(0);
    // Nothing refused, closed or cut off. Notes on the machine's load (the feed behind its
    // schedule, other processes busy) depend on what runs beside the test, not on the server.
    const loadNotes = /^feed fell behind|noisy$/;
    expect(r.notes.filter((n) => !loadNotes.test(n))).toEqual([]);
  }, 120_000);

  it('counts the same with the C data plane, stalled clients among them', async (ctx) => {
    // Reported as skipped, with why: the bench then reads every client in JavaScript.
    if (!native.binary) return ctx.skip(native.note);
    const stalledWorkload = { ...workload, subscribers: 12, stalled: 0.25, symbols: 5 as const };
    const r = await runOnce('tickstream', stalledWorkload, { ...options, nativeLoadgen: native.binary });
    expect(r.expected).toBeGreaterThan(0);
    expect(r.delivered, r.notes.join('; ')).toBe(r.expected);
    expect(r.latencyMs.samples, r.notes.join('; ')).toBeGreaterThan(0);
    expect(r.latencyMs.hiRes).toBe(1);
    expect(r.loadCpu).toBeGreaterThan(0);
  }, 120_000);

  it('counts socket.io deliveries with the C data plane too (engine.io handshake)', async (ctx) => {
    if (!native.binary) return ctx.skip(native.note);
    const r = await runOnce(
      'sio-batch',
      { ...workload, symbols: 'all' },
      { ...options, nativeLoadgen: native.binary },
    );
    // The run's notes say why, should a count or the samples fall short.
    expect(r.delivered, r.notes.join('; ')).toBe(r.expected);
    expect(r.latencyMs.samples, r.notes.join('; ')).toBeGreaterThan(0);
    expect(r.latencyMs.hiRes).toBe(1);
  }, 120_000);

  it('measures a socket.io peer on the same workload, latency included', async () => {
    const r = await runOnce('sio-batch', { ...workload, symbols: 'all' }, options);
    expect(r.delivered).toBe(r.expected);
    expect(r.expected).toBe(100 * 6);
    expect(r.latencyMs.samples).toBeGreaterThan(0);
    expect(r.latencyMs.p50).toBeLessThan(1000);
    expect(r.latencyMs.hiRes).toBe(1);
  }, 120_000);

  it('runs tickstream with the bars stage off', async () => {
    const r = await runOnce('tickstream-nobars', { ...workload, symbols: 'all' }, options);
    expect(r.delivered).toBe(r.expected);
  }, 120_000);

  it('measures memory per connection at two populations', async () => {
    const m = await measureMemory('tickstream', undefined, [], [10, 20]);
    expect(m.notes).toEqual([]);
    expect(Number.isFinite(m.marginalKBPerConn)).toBe(true);
    expect(Number.isFinite(m.idleKBPerConn)).toBe(true);
  }, 120_000);
});
