import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hubConfig, parseHolidays } from '../../src/hub/options.ts';

describe('hub flags', () => {
  it('reads --holidays as a comma-separated list of dates', () => {
    expect(parseHolidays('2023-11-09, 2023-12-25')).toEqual(new Set(['2023-11-09', '2023-12-25']));
  });

  it('reads --holidays from a file, one or more a line, with # comments', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickstream-holidays-'));
    try {
      const file = join(dir, 'psx-2023.txt');
      writeFileSync(file, '# PSX 2023\n2023-11-09  # Iqbal Day\n2023-12-25,2023-08-14\n');
      expect(parseHolidays(file)).toEqual(new Set(['2023-11-09', '2023-12-25', '2023-08-14']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails at start, naming the flag, on a date that does not exist or a missing file', () => {
    expect(() => parseHolidays('2023-02-30')).toThrow(/--holidays: "2023-02-30" is not a YYYY-MM-DD date/);
    expect(() => parseHolidays('/no/such/file')).toThrow(/--holidays: "\/no\/such\/file" is neither/);
  });

  it('has in-memory defaults and takes --data-dir and --fsync-interval', () => {
    expect(hubConfig({})).toEqual({
      history: { size: 100_000, ageMs: 3_600_000 },
      headlineCount: 50,
      holidays: new Set(),
      fsyncMs: 1000,
      barDays: 5,
    });
    expect(hubConfig({ 'data-dir': '/var/lib/tickstream', 'fsync-interval': '0' })).toMatchObject({
      dataDir: '/var/lib/tickstream',
      fsyncMs: 0,
    });
  });

  it('takes --bar-days as a whole number of days, 0 turning bars off', () => {
    expect(hubConfig({ 'bar-days': '0' }).barDays).toBe(0);
    expect(hubConfig({ 'bar-days': '20' }).barDays).toBe(20);
    expect(() => hubConfig({ 'bar-days': '1.5' })).toThrow('--bar-days must be a whole number of days');
    expect(() => hubConfig({ 'bar-days': '-1' })).toThrow(/--bar-days must be a number from 0/);
  });
});
