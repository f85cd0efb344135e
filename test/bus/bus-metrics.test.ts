import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createBusMetrics } from '../../src/bus/bus-metrics.ts';

describe('bus metrics', () => {
  it('leaves a figure out while it is unknown instead of reporting a sentinel', async () => {
    const registry = new Registry();
    let lag: number | undefined;
    let ingest: boolean | undefined;
    createBusMetrics(registry, { up: () => true, lag: () => lag, ingest: () => ingest });
    const samples = async () =>
      (await registry.metrics())
        .split('\n')
        .filter((l) => /^tickstream_bus_(up|lag_entries|ingest_up) /.test(l));

    expect(await samples()).toEqual(['tickstream_bus_up 1']);
    lag = 0;
    ingest = false;
    expect(await samples()).toEqual([
      'tickstream_bus_up 1',
      'tickstream_bus_lag_entries 0',
      'tickstream_bus_ingest_up 0',
    ]);
    lag = undefined;
    ingest = true;
    expect(await samples()).toEqual(['tickstream_bus_up 1', 'tickstream_bus_ingest_up 1']);
  });
});
