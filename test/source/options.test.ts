import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TickstreamError } from '../../src/errors.ts';
import { parseFlags } from '../../src/options.ts';
import { BUNDLED_FEED, openSource, sourceConfig, sourceFlags } from '../../src/source/options.ts';
import { quietLog, testConfig } from '../helpers.ts';
import { capturingLog } from './log-capture.ts';

describe('source flags', () => {
  it('defaults to the bundled replay at speed 1, without a loop', () => {
    expect(sourceConfig({})).toEqual({ feed: BUNDLED_FEED, speed: 1, intervalMs: 2000, loop: false });
  });

  it('reads the live-source flags and durations', () => {
    expect(sourceConfig({ source: 'http://127.0.0.1:1/', poll: '5s', 'stale-after': '2m' })).toMatchObject({
      url: 'http://127.0.0.1:1/',
      pollMs: 5000,
      staleAfterMs: 120_000,
    });
  });

  it('refuses a --source that is not an http(s) URL at start, instead of failing every fetch', () => {
    for (const source of ['example.com/markets', 'ftp://example.com/markets', 'file:///etc/passwd'])
      expect(() => sourceConfig({ source })).toThrow(
        expect.objectContaining({
          code: 'bad_config',
          message: `--source must be an http:// or https:// URL, got "${source}"`,
        }),
      );
    expect(sourceConfig({ source: 'https://example.com/markets' }).url).toBe('https://example.com/markets');
  });

  it('refuses a window that keeps nothing and a source that is stale at once, naming the flag', () => {
    expect(() => sourceConfig({ from: '15:00', to: '09:30' })).toThrow(
      '--from must be before --to, got --from 15:00 and --to 09:30',
    );
    expect(() => sourceConfig({ from: '2023-11-09T06:00:00Z', to: '2023-11-09T05:00:00Z' })).toThrow(
      /--from must be before --to/,
    );
    // Of two kinds (an instant and a time of day), either may come first.
    expect(sourceConfig({ from: '2023-11-09T06:00:00Z', to: '09:30' })).toMatchObject({ to: {} });
    expect(() => sourceConfig({ 'stale-after': '0s' })).toThrow(/^--stale-after must be longer than 0/);
    const fromEnv = (env: Record<string, string>) =>
      sourceConfig(parseFlags([], sourceFlags, { env }).values);
    expect(() => fromEnv({ TICKSTREAM_POLL: '5ms' })).toThrow(
      'TICKSTREAM_POLL must be at least 10ms, got "5ms"',
    );
  });

  it('says which replay flags a live source ignores', () => {
    const { log, records } = capturingLog();
    openSource(sourceConfig({ feed: '-', loop: true, speed: '20', from: '10:00' }), log, {
      stdin: new PassThrough(),
    });
    expect(records).toContainEqual(
      expect.objectContaining({ level: 40, ignored: ['--loop', '--speed', '--from'] }),
    );
    const replay = capturingLog();
    openSource(sourceConfig({ loop: true, speed: '20' }), replay.log);
    expect(replay.records.filter((r) => r.level === 40)).toEqual([]);
  });

  it('refuses two sources at once, naming them', () => {
    expect(() => sourceConfig({ feed: 'a.txt', follow: 'b.txt' })).toThrow(
      'use one of --feed, --follow and --source, not --feed and --follow',
    );
  });

  it('fails at start with feed_unreadable for a feed that cannot be read', () => {
    const open = () => openSource({ ...testConfig().source, feed: '/nonexistent/feed.txt' }, quietLog());
    expect(open).toThrow(TickstreamError);
    expect(open).toThrow(/cannot read feed \/nonexistent\/feed.txt: ENOENT/);
  });
});
