/**
 * `npm run soak -- --minutes N [--clients N]`: a long mixed load with faults against a real
 * server process, printing figures every 10 s and a summary. The server replays the bundled
 * trading day over the whole run, with --data-dir; meanwhile steady clients hold on, churning
 * clients drop and resume, bad clients send garbage, a crowd freezes (SIGSTOP) and is found by
 * ping/pong, slowloris requests hang, the server is killed with -9 and restarted, and /healthz
 * is probed throughout. At the end every client's state must equal the server's snapshot:
 * anything else is data lost, and the exit code is 1.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Quote } from '../src/protocol/messages.ts';
import { repoPath, waitFor } from '../test/helpers.ts';
import { httpGet, Mirror, openCrowd, percentile } from '../test/reliability/crowd.ts';
import { CrowdChild } from '../test/reliability/crowd-child.ts';
import { spawnTickstream, type ServerChild } from '../test/server-child.ts';
import { periodic } from './periodic.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '5' }, clients: { type: 'string', default: '200' } },
});
const minutes = Number(values.minutes);
const clients = Number(values.clients);
if (!(minutes > 0) || !(clients >= 10)) {
  process.stderr.write('usage: npm run soak -- --minutes N (> 0) [--clients N (>= 10)]\n');
  process.exit(2);
}
const runMs = minutes * 60_000;
// The bundled day (09:30–15:30 Karachi, six hours) spread over the run.
const speed = String(Math.ceil((6 * 3600_000) / runMs));
const dir = mkdtempSync(join(tmpdir(), 'tickstream-soak-'));
const args = [
  ...['--feed', repoPath('replay/session.txt.gz'), '--speed', speed, '--data-dir', join(dir, 'data')],
  ...['--port', '0', '--host', '127.0.0.1', '--heartbeat', '2s'],
  ...['--max-connections-per-ip', '100000', '--max-connections', '100000'],
];

const figures = {
  kills: 0,
  churns: 0,
  resumesLost: 0,
  badFrames: 0,
  badAnswered: 0,
  frozen: 0,
  frozenFreed: 0,
  slowlorisCut: 0,
  slowlorisLivedMs: 0,
  healthMs: [] as number[],
  healthFailures: 0,
  maxRssMb: 0,
};

let server: ServerChild = await spawnTickstream('serve', args);
const url = () => `ws://127.0.0.1:${server.port}/ws`;
const rssMb = () => {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'));
  return line ? Number(line[1]) / 1024 : 0;
};
const healthz = async () =>
  JSON.parse((await httpGet(server.port, '/healthz')).body) as Record<string, unknown>;

const steady = await openCrowd(url(), Math.floor(clients / 2));
const churners = await openCrowd(url(), Math.ceil(clients / 2));
const everyone = (): Mirror[] => [...steady, ...churners];
const started = Date.now();
const tasks = periodic('soak');
const every = tasks.every;
let restarting = false;
let freezing = false;

/** A client that reconnects after a drop resumes; one that is told recovered:false lost data. */
const resume = async (m: Mirror) => {
  const before = m.recovered.length;
  await m.resume(url());
  await waitFor(() => m.recovered.length > before, 'the resume answer', 30_000);
  if (m.recovered.at(-1) !== true) figures.resumesLost++;
};

// Churn: a few clients at a time drop without a close and resume.
every(500, async () => {
  if (restarting) return;
  const picked = churners.filter(() => Math.random() < 0.05);
  for (const m of picked) m.vanish();
  figures.churns += picked.length;
  await Promise.all(picked.map(resume));
});

// Bad clients: one garbage frame each, which must be answered with an error or a close.
const BAD = ['{', '[[[[[[[[]]]]]]]]', '{"op":"__proto__"}', '{"op":"subscribe","channel":"x"}', '"\u0000"'];
every(250, async () => {
  if (restarting) return;
  const bad = new Mirror(url());
  await bad.opened();
  bad.ws.send(BAD[figures.badFrames++ % BAD.length]!);
  await waitFor(() => bad.errors.length > 0 || bad.closeCode !== undefined, 'an answer', 10_000);
  figures.badAnswered++;
  bad.vanish();
});

// Health probes throughout, on fresh connections as a simple checker makes them.
every(200, async () => {
  if (restarting) return;
  try {
    const r = await httpGet(server.port, '/healthz');
    figures.healthMs.push(r.ms);
    if (r.status !== 200) figures.healthFailures++;
  } catch {
    if (!restarting) figures.healthFailures++;
  }
});

// Slowloris: 50 requests that never finish their headers, renewed when the server cuts them.
const slowloris: Socket[] = [];
const hang = () => {
  const s = connect(server.port, '127.0.0.1');
  s.on('error', () => {});
  // Read what comes back (the 408), or the socket never sees the server's end and never closes.
  s.resume();
  const opened = Date.now();
  s.on('close', () => {
    // A kill -9 drops them too; only the server's own cut-off counts.
    if (!restarting) {
      figures.slowlorisCut++;
      figures.slowlorisLivedMs = Math.max(figures.slowlorisLivedMs, Date.now() - opened);
    }
    slowloris.splice(slowloris.indexOf(s), 1);
  });
  s.write('GET /healthz HTTP/1.1\r\nHost: soak\r\nX-Slow: ');
  slowloris.push(s);
};
every(5000, () => {
  if (!restarting) while (slowloris.length < 50) hang();
});

// A crowd of 200 in another process freezes every 40 s and must be freed by ping/pong.
every(40_000, async () => {
  if (restarting) return;
  freezing = true;
  try {
    const crowd = await CrowdChild.start(url(), 200);
    figures.frozen += 200;
    const before = Number((await healthz()).clients);
    crowd.signal('SIGSTOP');
    await waitFor(
      async () => Number((await healthz()).clients) <= before - 200,
      'the frozen crowd freed',
      30_000,
    );
    figures.frozenFreed += 200;
    await crowd.stop();
  } finally {
    freezing = false;
  }
});

// kill -9 a third and two thirds of the way through; everyone resumes on the restarted server.
for (const at of [runMs / 3, (2 * runMs) / 3])
  setTimeout(() => {
    void (async () => {
      // Not while a frozen crowd is being counted: its figure would mix with the restart's.
      await waitFor(() => !freezing, 'the frozen crowd round to end', 60_000);
      restarting = true;
      await server.stop('SIGKILL');
      figures.kills++;
      server = await spawnTickstream('serve', args);
      await Promise.all(everyone().map(resume));
      restarting = false;
    })();
  }, at);

every(10_000, async () => {
  if (restarting) return;
  figures.maxRssMb = Math.max(figures.maxRssMb, rssMb());
  const h = await healthz();
  process.stdout.write(
    `${Math.round((Date.now() - started) / 1000)}s seq ${String(h.seq)} clients ${String(h.clients)} ` +
      `rss ${rssMb().toFixed(0)} MB, healthz p99 ${percentile(figures.healthMs, 99).toFixed(1)} ms, ` +
      `kills ${figures.kills}, churns ${figures.churns}, bad ${figures.badAnswered}/${figures.badFrames}, ` +
      `frozen freed ${figures.frozenFreed}/${figures.frozen}, slowloris cut ${figures.slowlorisCut}\n`,
  );
});

await new Promise((resolve) => setTimeout(resolve, runMs));
tasks.stop();
await waitFor(() => !restarting, 'the last restart', 60_000);
// Let the replay finish, then everyone must hold exactly the server's state.
await waitFor(async () => (await healthz()).source === 'ended', 'the replay to end', 10 * 60_000);
const truth = JSON.parse((await httpGet(server.port, '/api/snapshot')).body) as {
  seq: number;
  quotes: Quote[];
};
await waitFor(
  () => everyone().every((m) => m.seq >= truth.seq),
  'every client at the last seq',
  60_000,
).catch(() => undefined);
const wrong = everyone().filter((m) => JSON.stringify(m.snapshot()) !== JSON.stringify(truth.quotes)).length;
const lost = wrong + figures.resumesLost;
process.stdout.write(
  `\nsoak ${minutes} min: ${clients} clients (${steady.length} steady, ${churners.length} churning), ` +
    `${truth.seq} events, ${figures.kills} kill -9 restarts, ${figures.churns} drops resumed, ` +
    `${figures.badAnswered}/${figures.badFrames} bad frames answered, ${figures.frozenFreed}/${figures.frozen} ` +
    `frozen clients freed, ${figures.slowlorisCut} slowloris connections cut by the server (longest held ` +
    `${(figures.slowlorisLivedMs / 1000).toFixed(0)} s), healthz ${figures.healthMs.length} probes ` +
    `p50 ${percentile(figures.healthMs, 50).toFixed(1)} ms p99 ${percentile(figures.healthMs, 99).toFixed(1)} ms ` +
    `max ${Math.max(...figures.healthMs).toFixed(1)} ms (${figures.healthFailures} failed), max RSS ` +
    `${figures.maxRssMb.toFixed(0)} MB; clients not equal to the server: ${wrong}, resumes not recovered: ` +
    `${figures.resumesLost}; data lost: ${lost}\n`,
);
for (const m of everyone()) m.vanish();
for (const s of slowloris) s.destroy();
await server.stop('SIGTERM');
rmSync(dir, { recursive: true, force: true });
process.exit(lost === 0 ? 0 : 1);
