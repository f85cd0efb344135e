import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureFrames, fixturePath, repoPath, startWithFrames } from '../helpers.ts';

const run = promisify(execFile);
const DEPENDENCIES = ['zod', 'rxjs', 'ws', '@types/ws', '@types/node'];

describe('the @tickstream/client package, as an outside user installs it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickstream-consumer-'));
  let packed: string[] = [];

  beforeAll(async () => {
    // npm pack runs the package's prepack, which builds it with tsc.
    const { stdout } = await run(
      'npm',
      ['pack', '-w', '@tickstream/client', '--pack-destination', dir, '--json', '--silent'],
      { cwd: repoPath('.') },
    );
    const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
      filename: string;
      files: { path: string }[];
    }[];
    packed = info!.files.map((f) => f.path);
    const modules = join(dir, 'node_modules');
    mkdirSync(join(modules, '@tickstream'), { recursive: true });
    mkdirSync(join(modules, '@types'), { recursive: true });
    await run('tar', ['-xzf', join(dir, info!.filename), '-C', join(modules, '@tickstream')]);
    renameSync(join(modules, '@tickstream', 'package'), join(modules, '@tickstream', 'client'));
    // Its dependencies as npm would install them (the repository's copies, without a registry).
    for (const dep of DEPENDENCIES) symlinkSync(repoPath(`node_modules/${dep}`), join(modules, dep), 'dir');
    for (const file of ['consumer.ts', 'tsconfig.json'])
      copyFileSync(fixturePath(`client-consumer/${file}`), join(dir, file));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ships built ESM with declarations and a README, no TypeScript sources', () => {
    for (const entry of ['index', 'widget/index', 'protocol/index'])
      expect(packed).toEqual(expect.arrayContaining([`dist/${entry}.js`, `dist/${entry}.d.ts`]));
    expect(packed).toEqual(expect.arrayContaining(['package.json', 'README.md']));
    expect(packed.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('type-checks a consumer against its exports and runs it against a real server', async () => {
    const tsc = await run(process.execPath, [repoPath('node_modules/typescript/bin/tsc'), '-p', dir]).catch(
      (err: { stdout: string }) => ({ stdout: err.stdout, failed: true }),
    );
    expect(tsc.stdout).toBe('');

    const { running, frames$ } = await startWithFrames();
    try {
      frames$.next(fixtureFrames('two-frames.txt')[0]!);
      const { stdout } = await run(
        process.execPath,
        [join(dir, 'out/consumer.js'), running.server.url, 'AIRLINK'],
        {
          timeout: 10_000,
        },
      );
      expect(JSON.parse(stdout)).toMatchObject({
        quote: { symbol: 'AIRLINK', price: 80.6, v: 1 },
        price: 80.6,
      });
    } finally {
      await running.close();
    }
  }, 60_000);
});
