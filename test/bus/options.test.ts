import { describe, expect, it } from 'vitest';
import { busConfig } from '../../src/bus/options.ts';

describe('bus flags', () => {
  it('keeps the single-process mode when --bus is absent', () => {
    expect(busConfig({})).toBeUndefined();
  });

  it('defaults the role to all, the stream to about 100000 events, the lease to 6 s and the snapshot to 1 s', () => {
    expect(busConfig({ bus: 'redis://127.0.0.1:6379' })).toEqual({
      url: 'redis://127.0.0.1:6379',
      role: 'all',
      maxLen: 100_000,
      prefix: 'tickstream',
      leaseMs: 6000,
      snapshotMs: 1000,
    });
    expect(busConfig({ bus: 'redis://x', 'bus-lease': '900ms' })?.leaseMs).toBe(900);
    expect(busConfig({ bus: 'redis://x', 'bus-snapshot': '1h' })?.snapshotMs).toBe(3_600_000);
  });

  it('names the flag and the fix when a value is wrong', () => {
    expect(() => busConfig({ role: 'edge' })).toThrow('--role needs --bus redis://HOST:PORT');
    expect(() => busConfig({ bus: 'http://x' })).toThrow(
      '--bus must be a redis:// or rediss:// URL, got "http://x"',
    );
    expect(() => busConfig({ bus: 'redis://x', role: 'leader' })).toThrow(
      '--role must be one of all, ingest, edge, got "leader"',
    );
    expect(() => busConfig({ bus: 'redis://x', 'bus-maxlen': '0' })).toThrow('--bus-maxlen must be a number');
    expect(() => busConfig({ bus: 'redis://x', 'bus-lease': 'soon' })).toThrow(
      '--bus-lease must be a duration',
    );
    expect(() => busConfig({ bus: 'redis://x', 'bus-snapshot': 'often' })).toThrow(
      '--bus-snapshot must be a duration',
    );
    expect(() => busConfig({ bus: 'redis://x', 'bus-lease': '0' })).toThrow(
      '--bus-lease must be at least 300ms, got 0ms',
    );
  });
});
