import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/options.ts';
import { DEFAULT_LIMITS, transportConfig, transportFlags } from '../../src/transport/options.ts';

const config = (...args: string[]) =>
  transportConfig(parseArgs({ args, options: transportFlags, strict: true }).values, {});

describe('transport flags', () => {
  it('has sane defaults', () => {
    expect(config()).toEqual({
      port: 8080,
      host: '0.0.0.0',
      heartbeatMs: 15_000,
      maxPayload: 65_536,
      headerTimeoutMs: 10_000,
      maxDelayMs: 0,
      limits: DEFAULT_LIMITS,
      security: { allowOrigins: [] },
    });
  });

  it('reads --max-delay, from the flag or TICKSTREAM_MAX_DELAY', () => {
    expect(config('--max-delay=5').maxDelayMs).toBe(5);
    expect(config('--max-delay=2ms').maxDelayMs).toBe(2);
    const { values } = parseFlags([], transportFlags, { env: { TICKSTREAM_MAX_DELAY: '3' } });
    expect(transportConfig(values, {}).maxDelayMs).toBe(3);
    expect(() => config('--max-delay=soon')).toThrow(/--max-delay must be a duration/);
  });

  it('reads limits, repeated or comma-separated origins and secrets', () => {
    const c = config(
      '--max-symbols=50',
      '--max-requests=5',
      '--slow-bytes=65536',
      '--slow-close-after=2s',
      '--allow-origin=https://a.example,https://b.example',
      '--allow-origin=https://c.example',
      '--jwt-secret=k',
      '--header-timeout=3s',
    );
    expect(c.headerTimeoutMs).toBe(3000);
    expect(c.limits).toMatchObject({
      maxSymbols: 50,
      maxRequestsPerSecond: 5,
      slowBytes: 65_536,
      slowCloseMs: 2000,
    });
    expect(c.security).toEqual({
      allowOrigins: ['https://a.example', 'https://b.example', 'https://c.example'],
      jwt: { secret: 'k', leewaySeconds: 30 },
    });
  });

  it('fails at start, naming the flag, on values that cannot work', () => {
    expect(() => config('--max-symbols=0')).toThrow(
      '--max-symbols must be a number from 1 to Infinity, got "0"',
    );
    expect(() => config('--slow-bytes=1048576', '--slow-close-bytes=65536')).toThrow(
      '--slow-close-bytes must be larger than --slow-bytes',
    );
    expect(() => config('--tls-cert=cert.pem')).toThrow('--tls-cert and --tls-key go together');
    expect(() => config('--header-timeout=0')).toThrow('--header-timeout must be at least 1s, got 0ms');
    expect(() => config('--tls-cert=/nonexistent.pem', '--tls-key=/nonexistent.pem')).toThrow(
      /--tls-cert: cannot read \/nonexistent.pem/,
    );
  });

  it('reads the proxy list, the per-address rates, the global byte ceiling and the metrics guard', () => {
    const c = config(
      '--trust-proxy=10.0.0.0/8,::1',
      '--trust-proxy=192.0.2.7',
      '--connect-rate=5',
      '--max-items-per-ip=500',
      '--max-request-bytes-per-ip=65536',
      '--max-waiting-bytes=1048576',
      '--metrics-token=M',
      '--metrics-port=9100',
    );
    expect(c.trustProxy).toEqual(['10.0.0.0/8', '::1', '192.0.2.7']);
    expect(c.limits).toMatchObject({
      connectsPerSecond: 5,
      maxItemsPerIp: 500,
      maxRequestBytesPerIp: 65_536,
      maxWaitingBytes: 1_048_576,
    });
    expect(c.metricsAccess).toEqual({ token: 'M', port: 9100 });
    expect(DEFAULT_LIMITS.maxWaitingBytes).toBeGreaterThan(0);
  });

  it('reads the metrics token from a file or the environment, keeping it out of ps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickstream-metrics-token-'));
    try {
      writeFileSync(join(dir, 'token'), 'from-file\n');
      expect(config(`--metrics-token-file=${join(dir, 'token')}`).metricsAccess).toEqual({
        token: 'from-file',
      });
      const fromEnv = transportConfig(parseArgs({ args: [], options: transportFlags, strict: true }).values, {
        TICKSTREAM_METRICS_TOKEN: 'from-env',
      });
      expect(fromEnv.metricsAccess).toEqual({ token: 'from-env' });
      expect(() => config('--metrics-token=a', `--metrics-token-file=${join(dir, 'token')}`)).toThrow(
        'alternatives',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the flag when a proxy entry or the metrics listener is wrong', () => {
    expect(() => config('--trust-proxy=10.0.0.0/40')).toThrow(
      '--trust-proxy: "10.0.0.0/40" is not an address or CIDR',
    );
    expect(() => config('--metrics-host=0.0.0.0')).toThrow('--metrics-host needs --metrics-port');
    expect(() => config('--connect-rate=0')).toThrow('--connect-rate');
    expect(() => config('--max-items-per-ip=0')).toThrow('--max-items-per-ip');
    expect(() => config('--max-request-bytes-per-ip=1000')).toThrow('--max-request-bytes-per-ip');
  });
});
