import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fixturePath, repoPath, TestClient, waitFor } from '../helpers.ts';

describe('tickstream serve on SIGTERM', () => {
  it('sends a final status, closes clients with 1001, flushes its log and exits 0 in time', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', repoPath('src/cli.ts'), 'serve', '--port', '0', '--host', '127.0.0.1'].concat([
        '--feed',
        fixturePath('two-frames.txt'),
        '--speed',
        '0',
      ]),
      { env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const port = await waitFor(() => /"port":(\d+)/.exec(log)?.[1], 'the listening line', 20_000);
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
      await client.next('status');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await waitFor(() => client.closeCode, 'the close frame');
      expect(client.closeCode).toBe(1001);
      expect(client.ofType('status').at(-1)).toMatchObject({ type: 'status', state: 'ended' });
      expect(log).toContain('"msg":"shutting down"');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
