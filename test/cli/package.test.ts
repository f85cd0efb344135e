import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoPath, waitFor } from '../helpers.ts';

const run = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;

describe('the packed release', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickstream-pack-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('installs with production dependencies only and runs `tickstream --version` and `tickstream serve`', async () => {
    // npm pack builds first (prepack), so the tarball carries dist/ from the current source.
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: repoPath('') });
    // The build's own output comes first; the JSON report is the rest.
    const [packed] = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed!.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining(['package.json', 'dist/cli.js', 'dist/widget.js', 'replay/session.txt.gz']),
    );
    expect(files.filter((f) => /^(src|test|bench|scripts)\//.test(f))).toEqual([]);

    // No devDependencies and no optional ones: the release needs neither tsx nor esbuild.
    const app = join(dir, 'app');
    mkdirSync(app);
    await run(
      'npm',
      [
        'install',
        '--omit=dev',
        '--omit=optional',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(dir, packed!.filename),
      ],
      { cwd: app },
    );
    for (const tool of ['tsx', 'esbuild', 'typescript', 'pino-pretty'])
      expect(existsSync(join(app, 'node_modules', tool)), tool).toBe(false);
    const bin = join(app, 'node_modules', '.bin', 'tickstream');

    expect((await run(bin, ['--version'], { cwd: app })).stdout).toBe(`${VERSION}\n`);
    // On a terminal without pino-pretty the logs stay JSON (script(1) gives it a pseudo-terminal).
    if (existsSync('/usr/bin/script')) {
      const command = `${bin} record --out ${join(dir, 'recording')} --from 15:00 --speed 0`;
      const tty = await run('script', ['-qec', command, '/dev/null'], { cwd: app });
      expect(tty.stdout).toMatch(/^\{"level":30,.*"msg":"recording closed"/m);
    }

    const server = spawn(bin, ['serve', '--port', '0', '--host', '127.0.0.1'], {
      cwd: app,
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    try {
      let log = '';
      server.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
      const port = await waitFor(
        () => /"port":(\d+).*"msg":"listening"/.exec(log)?.[1],
        'the installed server to listen',
        30_000,
      );
      // Ready means it read the bundled replay shipped in the package and published a frame.
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
        '/readyz 200',
        30_000,
      );
      expect(log).toContain(join(app, 'node_modules', 'tickstream', 'replay', 'session.txt.gz'));
      expect((await fetch(`http://127.0.0.1:${port}/widget.js`)).status).toBe(200);
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
