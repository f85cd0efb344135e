import { readFileSync } from 'node:fs';
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import type { Running } from '../src/serve.ts';
import { repoPath, startWithFrames, TestClient, waitFor } from './helpers.ts';
import { quoteFrame } from './transport/feed.ts';

const VERSION = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;

const scrape = async (running: Running): Promise<Map<string, MetricFamily>> => {
  const res = await fetch(`http://127.0.0.1:${running.server.port}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await res.text());
  const byName = new Map(families.map((f) => [f.name, f]));
  expect(byName.size, 'each family once').toBe(families.length);
  return byName;
};

/** Checks a histogram's buckets are cumulative and end at +Inf with its count; returns the count. */
const histogramCount = (family: MetricFamily | undefined): number => {
  expect(family?.type).toBe('HISTOGRAM');
  const sample = family!.metrics[0]!;
  const bounds = Object.keys(sample.buckets!).sort((a, b) => Number(a) - Number(b));
  expect(bounds.at(-1)).toBe('+Inf');
  const counts = bounds.map((b) => Number(sample.buckets![b]));
  expect(counts).toEqual([...counts].sort((a, b) => a - b));
  expect(counts.at(-1)).toBe(Number(sample.count));
  return Number(sample.count);
};

describe('/metrics', () => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('parses as the Prometheus text format, with counters as counters and histograms for delays', async () => {
    const started = await startWithFrames();
    running = started.running;
    const client = await TestClient.connect(running.server.url);
    client.send({ op: 'subscribe', channel: 'quotes' });
    await client.next('snapshot');
    started.frames$.next(quoteFrame(0, 3));
    started.frames$.next(quoteFrame(1, 3));
    await waitFor(() => client.ofType('quote').length >= 6, 'both frames delivered');
    // A blocked event loop must show in the delay histogram once the monitor's next tick has run.
    const blockedUntil = performance.now() + 150;
    while (performance.now() < blockedUntil);
    const delayedOver100ms = (families: Map<string, MetricFamily>) => {
      const { buckets, count } = families.get('tickstream_event_loop_delay_seconds')!.metrics[0]!;
      return Number(count) - Number(buckets!['0.1']);
    };
    const families = await waitFor(async () => {
      const scraped = await scrape(running!);
      return delayedOver100ms(scraped) >= 1 && scraped;
    }, 'the blocked loop in the delay histogram');
    for (const family of families.values()) {
      expect(family.help, family.name).not.toBe('');
      expect(family.type, family.name).not.toBe('UNTYPED');
      // Prometheus's naming rule: a counter's name ends in _total, and (ours) only a counter's does.
      if (family.type === 'COUNTER') expect(family.name).toMatch(/_total$/);
      if (family.name.startsWith('tickstream_'))
        expect(family.type === 'COUNTER', family.name).toBe(family.name.endsWith('_total'));
      if (family.name.startsWith('tickstream_'))
        for (const sample of family.metrics)
          expect(
            Number(sample.value ?? sample.count),
            `${family.name} ${JSON.stringify(sample)}`,
          ).toBeGreaterThanOrEqual(0);
    }
    // Process and Node figures come from prom-client's defaults, with their own types.
    expect(families.get('process_cpu_seconds_total')?.type).toBe('COUNTER');
    expect(families.get('process_resident_memory_bytes')?.type).toBe('GAUGE');
    expect(families.get('nodejs_heap_size_used_bytes')?.type).toBe('GAUGE');
    expect(families.get('tickstream_build_info')).toMatchObject({
      type: 'GAUGE',
      metrics: [{ value: '1', labels: { version: VERSION, node: process.version } }],
    });
    expect(families.get('tickstream_messages_out_total')?.type).toBe('COUNTER');
    expect(families.get('tickstream_connections')?.type).toBe('GAUGE');
    // The one request this client made, by op.
    expect(families.get('tickstream_requests_total')).toMatchObject({
      type: 'COUNTER',
      metrics: [{ value: '1', labels: { op: 'subscribe' } }],
    });

    // One delivery-latency observation per flush (its oldest item's wait), not one per event.
    expect(histogramCount(families.get('tickstream_flush_duration_seconds'))).toBeGreaterThanOrEqual(2);
    expect(histogramCount(families.get('tickstream_delivery_latency_seconds'))).toBe(
      histogramCount(families.get('tickstream_flush_duration_seconds')),
    );
    expect(histogramCount(families.get('tickstream_event_loop_delay_seconds'))).toBeGreaterThan(0);
    await client.close();
  });
});
