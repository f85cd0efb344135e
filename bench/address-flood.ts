/**
 * `npx tsx bench/address-flood.ts [--seconds N --symbols N --attacks none,http,ws,json,ping]`: what
 * one address sending again and again does to everyone else. A server process, pinned to core
 * 0, holds a full trading day of 1m..1d bars for `--symbols` symbols (default 1,000); from this
 * process one address floods it for `--seconds` (default 6) in one of these ways:
 * - http: 8 keep-alive loops of `GET /api/candles?interval=1m&symbols=SYM1*` (111 symbols,
 *   41,514 candles an answer);
 * - ws: 10 connections, each sending 20 candle subscribes a second, every one with a different
 *   symbol list (so no shared snapshot serves it: 4,114 candles each);
 * - json: 100 connections (the default per address), each sending 20 frames a second of the
 *   request size limit that are costly to parse (arrays nested 30,000 deep, objects of 5,000
 *   members, in turn), reconnecting when closed;
 * - ping: 10 connections, each writing WebSocket ping frames as fast as its socket takes them;
 * - none: no flood, the bystander alone;
 * while a bystander at another address (as a trusted proxy names it) asks `/healthz` every 20
 * ms on a new connection. The http and ws floods run against the item budget per address
 * (`--max-items-per-ip`, default) and beside it the same server with the budget lifted (the
 * peer: as the server was before it had one). Prints how the flood was answered and the
 * bystander's round trips.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { nextMessage, sleep } from './children.ts';
import { spawnNodeScript, stopChild } from './servers.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    symbols: { type: 'string', default: '1000' },
    attacks: { type: 'string', default: 'none,http,ws,json,ping' },
    // Internal: this file run as the server process, with its item budget.
    serve: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const symbols = Number(values.symbols);
if (!(seconds >= 1 && seconds <= 60 && symbols >= 120 && symbols <= 5000))
  throw new Error('--seconds takes 1-60 and --symbols 120-5000');

const SESSION_MINUTES = 375;
const ATTACKER = '198.51.100.1';
const BYSTANDER = '198.51.100.2';

/** The server process: a hub with a day of bars, behind a "proxy" at 127.0.0.1 that names clients. */
const serve = async (maxItemsPerIp: number) => {
  const [{ Hub }, { startServer }, { createLogger }] = await Promise.all([
    import('../src/hub/hub.ts'),
    import('../src/transport/server.ts'),
    import('../src/log.ts'),
  ]);
  const hub = new Hub({ history: { size: 10_000, ageMs: 3_600_000 }, headlineCount: 50, barDays: 5 });
  for (let m = 0; m < SESSION_MINUTES - 1; m++)
    for (let s = 0; s < symbols; s++)
      hub.apply({
        type: 'quote',
        symbol: `SYM${s}`,
        ts: new Date(Date.UTC(2023, 10, 6, 4, 30 + m)).toISOString(),
        fields: {
          kind: 'stock',
          price: 100 + ((m * 7 + s) % 977) / 100,
          change: 1,
          changePercent: 1,
          direction: 'up',
        },
      });
  const server = await startServer({
    hub,
    log: createLogger('error'),
    port: 0,
    host: '127.0.0.1',
    heartbeatMs: 600_000,
    maxPayload: 65_536,
    trustProxy: ['127.0.0.1'],
    limits: { maxItemsPerIp },
  });
  process.send!({ type: 'listening', port: server.port });
};

const headers = (address: string) => ({ 'x-forwarded-for': address });

/** Counts answers by kind: a status code, `snapshot`, `rate_limited` or a close code. */
class Tally extends Map<string, number> {
  add(kind: string | number): void {
    this.set(String(kind), (this.get(String(kind)) ?? 0) + 1);
  }
  toString(): string {
    return [...this].map(([k, n]) => `${n} ${k}`).join(', ');
  }
}

const httpFlood = (base: string, until: number, tally: Tally) =>
  Array.from({ length: 8 }, async () => {
    while (performance.now() < until) {
      const res = await fetch(`${base}/api/candles?interval=1m&symbols=SYM1*`, {
        headers: headers(ATTACKER),
      });
      await res.arrayBuffer();
      tally.add(res.status);
    }
  });

const wsFlood = (port: number, until: number, tally: Tally) =>
  Array.from({ length: 10 }, async (_, k) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: headers(ATTACKER) });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.includes('"rate_limited"')) tally.add('rate_limited');
      else if (text.includes('"type":"snapshot"')) tally.add('snapshot');
    });
    ws.on('close', (code) => tally.add(`closed ${code}`));
    for (let i = 0; performance.now() < until && ws.readyState === WebSocket.OPEN; i++) {
      const request = { op: 'subscribe', channel: 'candles', interval: '1m', id: i };
      ws.send(JSON.stringify({ ...request, symbols: [`SYM${(i % 9) + 1}0*`, `X${k}-${i}`] }));
      await sleep(50);
    }
    ws.close();
  });

/** Frames of the request size limit that are costly to parse, in turn. */
const COSTLY = [
  '['.repeat(30_000) + ']'.repeat(30_000),
  JSON.stringify(Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, 0]))),
];

const jsonFlood = (port: number, until: number, tally: Tally) =>
  Array.from({ length: 100 }, async (_, k) => {
    for (let i = k; performance.now() < until;) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: headers(ATTACKER) });
      ws.on('error', () => undefined);
      ws.on('message', (data) => {
        const code = /"code":"(\w+)"/.exec(data.toString())?.[1];
        if (code) tally.add(code);
      });
      const closed = new Promise<void>((resolve) =>
        ws.on('close', (code) => {
          tally.add(`closed ${code}`);
          resolve();
        }),
      );
      await new Promise((resolve) => ws.once('open', resolve).once('close', resolve));
      while (performance.now() < until && ws.readyState === WebSocket.OPEN) {
        ws.send(COSTLY[i++ % COSTLY.length]!);
        await sleep(50);
      }
      if (ws.readyState === WebSocket.OPEN) ws.close();
      await closed;
    }
  });

/** An empty masked ping frame, 10,000 times over. */
const PINGS = Buffer.concat(Array.from({ length: 10_000 }, () => Buffer.from([0x89, 0x80, 1, 2, 3, 4])));

const pingFlood = (port: number, until: number, tally: Tally) =>
  Array.from({ length: 10 }, async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: headers(ATTACKER) });
    ws.on('error', () => undefined);
    await new Promise((resolve) => ws.once('open', resolve));
    const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    // Never reads what the server answers: the pongs pile up on its side.
    socket.pause();
    ws.on('close', (code) => tally.add(`closed ${code}`));
    let sent = 0;
    while (performance.now() < until && !socket.destroyed) {
      sent += 10_000;
      if (!socket.write(PINGS))
        await Promise.race([new Promise((r) => socket.once('drain', r)), sleep(until - performance.now())]);
    }
    tally.add(`${sent} pings sent`);
    socket.destroy();
  });

/** The server's resident memory in MB, from /proc. */
const rssMb = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

/** The bystander's `/healthz` round trips (ms), one every 20 ms on a new connection. */
const bystander = async (base: string, until: number): Promise<number[]> => {
  const rtts: number[] = [];
  while (performance.now() < until) {
    const t = performance.now();
    const res = await fetch(`${base}/healthz`, { headers: { ...headers(BYSTANDER), connection: 'close' } });
    await res.text();
    rtts.push(performance.now() - t);
    await sleep(20);
  }
  return rtts.sort((a, b) => a - b);
};

// none: the bystander alone, the baseline to read the others against.
const FLOODS = { none: () => [], http: httpFlood, ws: wsFlood, json: jsonFlood, ping: pingFlood };
type Attack = keyof typeof FLOODS;

const run = async (attack: Attack, maxItemsPerIp: number) => {
  const child: ChildProcess = spawnNodeScript('0', './address-flood.ts', [
    `--serve=${maxItemsPerIp}`,
    `--symbols=${symbols}`,
  ]);
  try {
    const { port } = await nextMessage<{ type: string; port: number }, { port: number }>(
      child,
      (m) => (m.type === 'listening' ? m : undefined),
      120_000,
      'server',
    );
    const base = `http://127.0.0.1:${port}`;
    const until = performance.now() + seconds * 1000;
    const tally = new Tally();
    const rssBefore = rssMb(child.pid!);
    const flood = attack === 'http' ? httpFlood(base, until, tally) : FLOODS[attack](port, until, tally);
    const [rtts] = await Promise.all([bystander(base, until), ...flood]);
    const rssAfter = rssMb(child.pid!);
    const q = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))]!.toFixed(1);
    const budget = maxItemsPerIp >= 1e9 ? 'lifted (peer)' : `${maxItemsPerIp}/s`;
    console.log(
      `${attack.padEnd(5)} budget ${budget.padEnd(14)} bystander /healthz ${String(rtts.length).padStart(4)} answered, ` +
        `p50 ${q(0.5)} p90 ${q(0.9)} max ${q(1)} ms; server RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MB; ` +
        `flood answered: ${tally}`,
    );
  } finally {
    await stopChild(child);
  }
};

if (values.serve !== undefined) await serve(Number(values.serve));
else {
  const { DEFAULT_LIMITS } = await import('../src/transport/options.ts');
  console.log(`${symbols} symbols, a day of bars; each flood ${seconds} s from one address`);
  for (const attack of values.attacks.split(',') as Attack[]) {
    if (!(attack in FLOODS)) throw new Error(`--attacks takes ${Object.keys(FLOODS).join(', ')}`);
    // The budget lifted shows what the item budget does; the other floods meet the server as it is.
    const budgets =
      attack === 'http' || attack === 'ws'
        ? [1e9, DEFAULT_LIMITS.maxItemsPerIp]
        : [DEFAULT_LIMITS.maxItemsPerIp];
    for (const items of budgets) await run(attack, items);
  }
}
