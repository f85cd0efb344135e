import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ensureOpenFiles, openFileLimits } from '../../src/transport/open-files.ts';
import { attempt, waitFor } from '../helpers.ts';
import { spawnTickstream, type ServerChild } from '../server-child.ts';

const limitsOf = (pid: number) => openFileLimits(readFileSync(`/proc/${pid}/limits`, 'utf8'));

describe('open files', () => {
  let server: ServerChild | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('reads the open-file limits from /proc/<pid>/limits', () => {
    const text = [
      'Limit                     Soft Limit           Hard Limit           Units',
      'Max open files            1024                 524288               files',
    ].join('\n');
    expect(openFileLimits(text)).toEqual({ soft: 1024, hard: 524288 });
    expect(openFileLimits('Max open files  unlimited  unlimited  files')).toEqual({
      soft: Infinity,
      hard: Infinity,
    });
  });

  it("raises a process's soft open-file limit to its hard one, and says when that is not enough", async () => {
    const child = spawn('prlimit', ['--nofile=256:4096', 'sleep', '30'], { stdio: 'ignore' });
    try {
      const limits = () => openFileLimits(readFileSync(`/proc/${child.pid}/limits`, 'utf8'));
      const deadline = Date.now() + 10_000;
      while (limits()?.soft !== 256) {
        if (Date.now() > deadline) throw new Error('prlimit did not apply');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(ensureOpenFiles(child.pid!, 1000)).toBeUndefined();
      expect(limits()).toEqual({ soft: 4096, hard: 4096 });
      expect(ensureOpenFiles(child.pid!, 10_000)).toContain('raise ulimit -n');
    } finally {
      child.kill();
    }
  });

  it('raises its own limit for --max-connections at start, or lowers the connections to fit and says so, and keeps room for files', async () => {
    server = await spawnTickstream(
      'serve',
      ['--port', '0', '--max-connections', '1000'],
      {},
      {
        prefix: ['prlimit', '--nofile=300:4096'],
      },
    );
    expect(limitsOf(server.child.pid!)).toEqual({ soft: 4096, hard: 4096 });
    expect(server.logs().some((l) => String(l.msg).includes('open-file limit'))).toBe(false);
    await server.stop();

    // 260 descriptors, 200 kept for files and the rest: room for 60 clients, not 1,000.
    server = await spawnTickstream(
      'serve',
      ['--port', '0', '--max-connections', '1000'],
      {},
      {
        prefix: ['prlimit', '--nofile=260:260'],
      },
    );
    expect(server.logs().find((l) => String(l.msg).includes('open-file limit'))).toMatchObject({
      level: 40,
      openFiles: 260,
      maxConnections: 1000,
      lowered: 60,
    });
    const url = `ws://127.0.0.1:${server.port}/ws`;
    const held = Array.from({ length: 60 }, () => new WebSocket(url));
    await Promise.all(held.map((ws) => new Promise((resolve) => ws.once('open', resolve))));
    expect(await attempt(url)).toMatchObject({ code: 1013, reason: 'server full: 60 connections' });
    // Sockets of any kind stop 100 short of the limit (160 here), whichever addresses hold them:
    // the journal and Redis keep room for their own files.
    const others = [];
    for (let i = 0; i < 100; i++) {
      const socket = connect({
        port: server.port,
        host: '127.0.0.1',
        localAddress: `127.0.0.${2 + (i % 50)}`,
      });
      socket.on('error', () => {});
      others.push(socket);
    }
    await Promise.all(others.map((s) => new Promise((resolve) => s.once('connect', resolve))));
    await waitFor(async () => {
      const extra = connect({ port: server!.port, host: '127.0.0.1', localAddress: '127.0.0.99' });
      extra.on('error', () => {});
      others.push(extra);
      return new Promise<boolean>((resolve) =>
        extra.once('close', () => resolve(true)).setTimeout(200, () => resolve(false)),
      ).then((closed) => closed || undefined);
    }, 'a socket past the room closed at once');
    for (const ws of held) ws.close();
    for (const s of others) s.destroy();
  });
});
