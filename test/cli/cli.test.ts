import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, repoPath } from '../helpers.ts';
import { freePort } from '../net.ts';
import { spawnTickstream, type ServerChild } from '../server-child.ts';

const VERSION = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;

/**
 * Runs `tickstream ARGS` to its end, as a user would, and returns its exit code and output. It
 * runs the build (dist/cli.js, made from the current source in beforeAll): what `tickstream`
 * is once installed, and a third of tsx's start-up CPU, which counts for a dozen runs.
 */
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [repoPath('dist/cli.js'), ...args],
      { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });

/** The one line a failed command prints; anything more (a stack trace) fails the test. */
const oneLine = (stderr: string) => {
  const lines = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
  expect(lines).toHaveLength(1);
  return lines[0]!;
};

describe('tickstream CLI conventions', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await promisify(execFile)(process.execPath, [repoPath('scripts/build.js')]);
  });
  const children: ServerChild[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) await c.stop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const serve = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const child = await spawnTickstream('serve', args, env);
    children.push(child);
    return child;
  };
  const logged = (child: ServerChild, msg: string) => child.logs().find((l) => l.msg === msg);

  it('prints the version with --version', async () => {
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('prints one command’s help for `help COMMAND` and `COMMAND --help`, and the overview for --help', async () => {
    const [viaHelp, viaFlag, parseHelp, overview] = await Promise.all([
      run(['help', 'serve']),
      run(['serve', '--help']),
      run(['parse', '-h']),
      run(['--help']),
    ]);
    expect(viaHelp.code).toBe(0);
    expect(viaFlag).toEqual(viaHelp);
    expect(viaHelp.stdout).toMatch(/^Usage: tickstream serve/);
    expect(viaHelp.stdout).toContain('--history-size N');
    expect(viaHelp.stdout).not.toContain('--stats');
    expect(parseHelp.stdout).toMatch(/^Usage: tickstream parse/);
    expect(parseHelp.stdout).toContain('--stats');
    expect(parseHelp.stdout).not.toContain('--feed');
    expect(overview.stdout).toContain(`tickstream ${VERSION}`);
    for (const command of ['serve', 'parse', 'record', 'tail'])
      expect(overview.stdout).toContain(`  ${command} `);
    expect(overview.stdout).not.toContain('--data-dir');
  });

  it('exits 2 with one line on a usage error: unknown command or flag, a bad value in a flag or the environment', async () => {
    const results = await Promise.all([
      run(['serve', '--no-such-flag']),
      run(['frobnicate']),
      run(['help', 'frobnicate']),
      run(['serve', '--speed', 'fast']),
      run(['serve'], { TICKSTREAM_SPEED: 'fast' }),
      run(['serve'], { TICKSTREAM_LOOP: 'maybe' }),
      run(['serve', '--log-level', 'loud']),
      run(['record']),
      run(['serve', '--bus', 'redis://127.0.0.1:1', '--role', 'edge', '--data-dir', 'unused']),
    ]);
    expect(results.map((r) => r.code)).toEqual(Array(results.length).fill(2));
    expect(results.map((r) => oneLine(r.stderr))).toEqual([
      expect.stringMatching(/^tickstream: Unknown option '--no-such-flag'.*\(see tickstream help serve\)$/),
      'tickstream: unknown command "frobnicate"; see tickstream --help',
      'tickstream: unknown command "frobnicate"; see tickstream --help',
      'tickstream: --speed must be a number from 0 to Infinity, got "fast" (see tickstream help serve)',
      'tickstream: TICKSTREAM_SPEED must be a number from 0 to Infinity, got "fast" (see tickstream help serve)',
      'tickstream: TICKSTREAM_LOOP must be true or false, got "maybe" (see tickstream help serve)',
      expect.stringMatching(/^tickstream: --log-level must be one of trace, .*, got "loud"/),
      'tickstream: record needs --out DIR (see tickstream help record)',
      'tickstream: --data-dir keeps the state of a process that stamps events (--role ingest or all); an edge takes its state from Redis (see tickstream help serve)',
    ]);
  });

  it('exits 1 with one line on a runtime failure: unreadable feed, port in use, data dir locked', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const busyPort = (taken.address() as AddressInfo).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'tickstream-cli-'));
    dirs.push(dataDir);
    const first = await serve(['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir]);
    try {
      const results = await Promise.all([
        run(['serve', '--feed', '/nonexistent/feed.txt', '--port', '0']),
        run(['parse', '/nonexistent/feed.txt']),
        run(['serve', '--port', String(busyPort), '--host', '127.0.0.1']),
        run(['serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir]),
      ]);
      expect(results.map((r) => r.code)).toEqual([1, 1, 1, 1]);
      const lines = results.map((r) => oneLine(r.stderr));
      expect(lines[0]).toMatch(/^tickstream: cannot read feed \/nonexistent\/feed.txt: ENOENT/);
      expect(lines[1]).toMatch(/^tickstream: cannot read feed "\/nonexistent\/feed.txt": ENOENT/);
      expect(lines[2]).toMatch(
        new RegExp(`^tickstream: cannot listen on 127.0.0.1:${busyPort}: .*EADDRINUSE`),
      );
      expect(lines[3]).toMatch(
        new RegExp(`^tickstream: --data-dir ${dataDir} is in use by process ${first.child.pid}\\b`),
      );
    } finally {
      taken.close();
    }
  });

  it('reads every flag from TICKSTREAM_<FLAG>, the command line winning, and PORT below TICKSTREAM_PORT', async () => {
    const [envPort, flagPort, legacyPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const fromEnv = await serve([], {
      TICKSTREAM_PORT: String(envPort),
      TICKSTREAM_HOST: '127.0.0.1',
      TICKSTREAM_SPEED: '5',
      TICKSTREAM_LOOP: 'true',
      PORT: String(legacyPort),
    });
    expect(fromEnv.port).toBe(envPort);
    expect(logged(fromEnv, 'replaying feed')).toMatchObject({ speed: 5, loop: true });

    const flagsWin = await serve(['--port', String(flagPort), '--speed', '2'], {
      TICKSTREAM_PORT: String(envPort),
      TICKSTREAM_HOST: '127.0.0.1',
      TICKSTREAM_SPEED: '5',
      TICKSTREAM_LOOP: 'false',
    });
    expect(flagsWin.port).toBe(flagPort);
    expect(logged(flagsWin, 'replaying feed')).toMatchObject({ speed: 2, loop: false });

    const legacy = await serve([], { PORT: String(legacyPort), HOST: '127.0.0.1' });
    expect(legacy.port).toBe(legacyPort);
  });

  // util-linux's script(1) runs the command on a pseudo-terminal, as a user's shell would.
  it.skipIf(!existsSync('/usr/bin/script'))('pretty-prints its logs on a terminal', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tickstream-tty-'));
    dirs.push(out);
    const command = `${process.execPath} ${repoPath('dist/cli.js')} record --out ${out} --feed ${fixturePath('two-frames.txt')} --speed 0`;
    const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    expect(stdout).toMatch(/INFO.*recording closed/);
    expect(stdout).not.toContain('{"level"');
  });

  it('logs service and version on every line', async () => {
    const child = await serve(['--port', '0', '--host', '127.0.0.1']);
    expect(child.logs().length).toBeGreaterThan(0);
    for (const line of child.logs()) expect(line).toMatchObject({ service: 'tickstream', version: VERSION });
  });
});
