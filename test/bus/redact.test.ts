import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busConfig, redactUrl } from '../../src/bus/options.ts';
import { serve } from '../../src/serve.ts';
import type { Frame } from '../../src/source/frame.ts';
import { capturingLog } from '../source/log-capture.ts';
import { testConfig } from '../helpers.ts';
import { startRedis, uniquePrefix, type TestRedis } from './redis-server.ts';

const PASSWORD = 'hunter2-do-not-log';

describe("the Redis URL's password in logs", () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('replaces the password with *** in the URL, keeping the rest', () => {
    expect(redactUrl('redis://:pw@10.0.0.1:6379/2')).toBe('redis://:***@10.0.0.1:6379/2');
    expect(redactUrl('rediss://user:pw@cache.example:6380')).toBe('rediss://user:***@cache.example:6380');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('not a url //u:pw@host')).toBe('not a url //***@host');
    expect(() => busConfig({ bus: 'http://u:pw@x' })).toThrow('got "http://u:***@x/"');
  });

  // Setting a password on the shared REDIS_URL server would break everyone else's tests.
  it.skipIf(process.env.REDIS_URL !== undefined)(
    'never reaches a log line while a cluster starts, serves and stops',
    async () => {
      const admin = redis.admin();
      await admin.config('SET', 'requirepass', PASSWORD);
      const url = redis.url.replace('redis://', `redis://:${PASSWORD}@`);
      const { log, records } = capturingLog();
      const running = await serve(
        { ...testConfig(), bus: { ...busConfig({ bus: url })!, prefix: uniquePrefix() } },
        log,
        { kind: 'test', frames$: new Subject<Frame>() },
      );
      await running.close();
      const waiting = records.find((r) => r.msg === 'waiting for Redis');
      expect(waiting?.url).toBe(redis.url.replace('redis://', 'redis://:***@'));
      expect(records.filter((r) => JSON.stringify(r).includes(PASSWORD))).toEqual([]);
      expect(records.some((r) => r.msg === 'bus connected to Redis')).toBe(true);
    },
  );
});
