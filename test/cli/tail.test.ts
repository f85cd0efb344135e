import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readTailOptions } from '../../src/commands/tail.ts';
import { repoPath, startWithFrames } from '../helpers.ts';

describe('tail --url', () => {
  afterEach(() => void vi.unstubAllEnvs());

  it('defaults to the port serve reads: TICKSTREAM_PORT, then PORT, then 8080', () => {
    vi.stubEnv('TICKSTREAM_PORT', '9001');
    vi.stubEnv('PORT', '9002');
    expect(readTailOptions([]).url).toBe('ws://127.0.0.1:9001/ws');
    vi.stubEnv('TICKSTREAM_PORT', '');
    expect(readTailOptions([]).url).toBe('ws://127.0.0.1:9002/ws');
    // An empty variable is unset, as for every flag: not port 80.
    vi.stubEnv('PORT', '');
    expect(readTailOptions([]).url).toBe('ws://127.0.0.1:8080/ws');
    expect(readTailOptions(['--url', 'ws://example.com:1/ws']).url).toBe('ws://example.com:1/ws');
  });
});

describe('tail refused by the server', { timeout: 60_000 }, () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('exits 1 with the reason when the server refuses it, not 0 as if it were done', async () => {
    const { running } = await startWithFrames({
      transport: { security: { allowOrigins: [], authToken: 'T' } },
    });
    cleanup.push(() => running.close());
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', repoPath('src/cli.ts'), 'tail', '--json', '--url', running.server.url],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanup.push(() => child.exitCode === null && child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const code = await Promise.race([
      exited,
      new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 20_000)),
    ]);
    expect(code).toBe(1);
    expect(
      stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    ).toContainEqual({
      type: 'state',
      state: 'failed',
    });
    expect(stderr).toMatch(/^tickstream: the server refused tail: .*token/m);
  });
});
