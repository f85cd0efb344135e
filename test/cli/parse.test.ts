import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fixtureFrames, fixturePath, repoPath } from '../helpers.ts';
import { tempDirs } from '../temp-dirs.ts';

const tempDir = tempDirs('tickstream-parse-');

/** Starts `tickstream parse ARGS` as a user runs it; `done` gives its exit code and output. */
const parse = (args: string[], stdin?: Buffer) => {
  const child = spawn(process.execPath, ['--import', 'tsx', repoPath('src/cli.ts'), 'parse', ...args], {
    cwd: repoPath(''),
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: 'pipe',
  });
  child.stdin.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
};

const logLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('tickstream parse', { timeout: 60_000 }, () => {
  it('ends quietly with status 0 when its reader goes away (`parse | head`)', async () => {
    const { child, done } = parse([repoPath('replay/session.txt.gz')]);
    // Like head: read the first lines, then close the pipe while parse still has megabytes to write.
    child.stdout.once('data', () => child.stdout.destroy());
    const { code, stderr } = await done;
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('reports the damaged lines it skips with file and line, and prints the rest', async () => {
    const dir = tempDir();
    const [first, second] = fixtureFrames('two-frames.txt');
    const recording = join(dir, 'recording.ndjson');
    writeFileSync(
      recording,
      [
        JSON.stringify({ capturedAt: first!.capturedAt!.toISOString(), text: first!.text }),
        '{"capturedAt":"2023-11-09T04:31:10.000Z","te',
        JSON.stringify({ capturedAt: second!.capturedAt!.toISOString(), text: second!.text }),
        '',
      ].join('\n'),
    );
    const zipped = readFileSync(repoPath('replay/session.txt.gz'));
    const cut = join(dir, 'cut.txt.gz');
    writeFileSync(cut, zipped.subarray(0, zipped.length / 2));

    const [ndjson, gzip] = await Promise.all([parse([recording]).done, parse([cut]).done]);
    expect(ndjson.code).toBe(0);
    expect(
      new Set(
        ndjson.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l).origin),
      ),
    ).toEqual(new Set([`${recording}:1`, `${recording}:3`]));
    expect(logLines(ndjson.stderr)).toContainEqual(
      expect.objectContaining({
        level: 40,
        file: recording,
        line: 2,
        msg: expect.stringMatching(/not whole JSON/),
      }),
    );
    expect(gzip.code).toBe(0);
    expect(gzip.stdout.length).toBeGreaterThan(0);
    expect(logLines(gzip.stderr)).toContainEqual(
      expect.objectContaining({ level: 40, file: cut, msg: expect.stringMatching(/gzip file is cut/) }),
    );
  });

  it('reads a gzipped feed piped to stdin as it reads the file', async () => {
    const fixture = fixturePath('two-frames.txt');
    const events = (stdout: string) =>
      stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => ({ ...JSON.parse(l), origin: undefined }));
    const [piped, file] = await Promise.all([
      parse([], gzipSync(readFileSync(fixture))).done,
      parse([fixture]).done,
    ]);
    expect(piped.code).toBe(0);
    expect(events(piped.stdout).length).toBeGreaterThan(30);
    expect(events(piped.stdout)).toEqual(events(file.stdout));
  });
});
