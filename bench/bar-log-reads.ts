/**
 * `npx tsx bench/bar-log-reads.ts [--pieces N --rounds N]`: what an edge reading a bar log back
 * from Redis (at start, and on every resync), and an ingest writing a new one (a new cluster, a
 * Redis that lost the log), do to Redis's other clients. A Redis of its own holds `--pieces`
 * pieces (default 485: five days of a thousand symbols) of 800 KB each; this process reads them
 * all in one HMGET (the peer: as the edge did) beside `PIECES_PER_COMMAND` a command (as it does
 * now), then writes them as a new log in one command (the peer: as the ingest's publish did)
 * beside `writeBarPieces` (as it does now), `--rounds` times each in turn (default 2), while
 * another process sends PING after PING. Prints each one's time and the other process's slowest
 * PING.
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { writeBarPieces } from '../src/bus/publish-script.ts';
import { busKeys, newLogKey, PIECES_PER_COMMAND } from '../src/bus/redis-store.ts';
import { startRedis } from '../test/bus/redis-server.ts';

const { values } = parseArgs({
  options: {
    pieces: { type: 'string', default: '485' },
    rounds: { type: 'string', default: '2' },
    // Internal: this file run as the pinging process, against the Redis at this URL.
    ping: { type: 'string' },
  },
});

/** The pinging process: PING after PING, answering each ask with the slowest since the last. */
const ping = async (url: string) => {
  const redis = new Redis(url);
  let slowest = 0;
  process.on('message', () => {
    process.send!(slowest);
    slowest = 0;
  });
  process.on('disconnect', () => process.exit(0));
  for (;;) {
    const t = performance.now();
    await redis.ping();
    slowest = Math.max(slowest, performance.now() - t);
  }
};

const main = async () => {
  const pieces = Number(values.pieces);
  const rounds = Number(values.rounds);
  if (!(pieces >= 1 && pieces <= 2000 && rounds >= 1 && rounds <= 10))
    throw new Error('--pieces takes 1-2000 and --rounds 1-10');
  const redis = await startRedis();
  const reader = redis.admin();
  const pinger = fork(new URL(import.meta.url).pathname, [`--ping=${redis.url}`], {
    execArgv: ['--import', 'tsx'],
  });
  const slowestPing = () =>
    new Promise<number>((resolve) => {
      pinger.once('message', (m) => resolve(m as number));
      pinger.send('slowest');
    });
  try {
    const text = 'x'.repeat(800_000);
    const keys = busKeys('bench');
    const fields = Array.from({ length: pieces }, (_, k) => `2023-11-08:${k}`);
    for (let i = 0; i < fields.length; i += 20)
      await reader.hset(keys.bars, ...fields.slice(i, i + 20).flatMap((f) => [f, text]));
    const write = {
      reset: true,
      id: 'new',
      pieces: fields.map((_, k) => ({ day: '2023-11-08', k, from: 0, to: 1 })),
      text: () => text,
    };
    await slowestPing();
    const run = async (label: string, read: () => Promise<unknown>) => {
      await slowestPing();
      const t = performance.now();
      await read();
      const ms = performance.now() - t;
      console.log(
        `${label.padEnd(34)}${ms.toFixed(0).padStart(6)} ms; the other process's slowest PING ${(await slowestPing()).toFixed(1)} ms`,
      );
    };
    console.log(`${pieces} pieces of 800 KB (${((pieces * 0.8) | 0).toLocaleString('en')} MB)`);
    for (let r = 0; r < rounds; r++) {
      await run('read, one HMGET (before)', () => reader.hmget(keys.bars, ...fields));
      await run(`read, ${PIECES_PER_COMMAND} pieces a command`, async () => {
        for (let i = 0; i < fields.length; i += PIECES_PER_COMMAND)
          await reader.hmget(keys.bars, ...fields.slice(i, i + PIECES_PER_COMMAND));
      });
      await run('write, one command (before)', () =>
        reader.hset(newLogKey(keys, 'new'), ...fields.flatMap((f) => [f, text])),
      );
      await reader.unlink(newLogKey(keys, 'new'));
      await run('write, written aside', () => writeBarPieces(reader, keys, 'bench', write));
      await reader.unlink(newLogKey(keys, 'new'));
    }
  } finally {
    pinger.kill();
    await redis.stop();
  }
};

if (values.ping !== undefined) await ping(values.ping);
else await main();
