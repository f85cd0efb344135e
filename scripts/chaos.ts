/**
 * `npm run chaos -- --minutes N [--clients N]`: the scale-out cluster under faults. Real
 * processes (one ingest with --data-dir, two edges, a redis-server started on a free port) and
 * resuming clients that reconnect through a router that, like a load balancer, only sends them
 * to edges whose /readyz says ready. Meanwhile one fault after another: kill -9 and SIGSTOP of
 * an edge, of the ingest (frozen past its lease while another ingest takes over, which must
 * fence it off), of Redis (restarted empty, frozen), and the data dir's filesystem filled and
 * freed (a tmpfs mounted when root). At the end every client's quotes must equal the ingest's
 * snapshot; it prints what it did and what was lost, and exits 1 if anything was.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { Quote } from '../src/protocol/messages.ts';
import { startRedis } from '../test/bus/redis-server.ts';
import { repoPath, waitFor } from '../test/helpers.ts';
import { httpGet, Mirror, openCrowd } from '../test/reliability/crowd.ts';
import { spawnTickstream, type ServerChild } from '../test/server-child.ts';
import { chaosDisk } from './chaos-disk.ts';
import { periodic } from './periodic.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '3' }, clients: { type: 'string', default: '200' } },
});
const minutes = Number(values.minutes);
const clients = Number(values.clients);
if (!(minutes > 0) || !(clients >= 10)) {
  process.stderr.write('usage: npm run chaos -- --minutes N (> 0) [--clients N (>= 10)]\n');
  process.exit(2);
}
const runMs = minutes * 60_000;
const started = Date.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
const say = (line: string) => process.stdout.write(`${elapsed()} ${line}\n`);

// Nothing may outlive a stuck run: the whole run, the final checks included, has a deadline.
const hardDeadline = setTimeout(
  () => {
    say('chaos: hard deadline reached; stopping');
    void cleanup().finally(() => process.exit(2));
  },
  runMs + 12 * 60_000,
);

const redis = await startRedis();
const work = mkdtempSync(join(tmpdir(), 'tickstream-chaos-'));
const disk = chaosDisk(join(work, 'disk'));
const dataDirs = [join(disk.dir, 'ingest-a'), join(disk.dir, 'ingest-b')];
const LEASE_MS = 2000;
// The bundled trading day (six hours) spread over the run.
const speed = String(Math.ceil((6 * 3600_000) / runMs));
const common = ['--bus', redis.url, '--bus-prefix', 'chaos', '--port', '0', '--host', '127.0.0.1'];
const ingestArgs = (dataDir: string) => [
  ...common,
  ...['--role', 'ingest', '--bus-lease', `${LEASE_MS}ms`, '--history-size', '5000'],
  ...['--feed', repoPath('replay/session.txt.gz'), '--speed', speed, '--data-dir', dataDir],
];
const edgeArgs = [
  ...common,
  ...['--role', 'edge', '--heartbeat', '2s'],
  ...['--max-connections-per-ip', '100000', '--max-connections', '100000'],
];

/** The fields of /healthz, /readyz and /api/snapshot this run reads. */
interface Answer {
  status?: string;
  ready?: boolean;
  seq?: number;
  epoch?: string;
  source?: string;
  journal?: unknown;
  quotes?: Quote[];
  bus?: { publish?: { ok: boolean }; unpublished?: number };
}

const json = async (port: number, path: string): Promise<Answer | undefined> => {
  try {
    const r = await httpGet(port, path);
    return JSON.parse(r.body) as Answer;
  } catch {
    return undefined;
  }
};
const isReady = async (port: number) => (await json(port, '/readyz'))?.ready === true;

/**
 * Starts a server, trying again if it refuses to start (it logs why) or does not listen in a
 * minute (tsx compiling on a loaded machine).
 */
const startServer = async (args: string[]): Promise<ServerChild> => {
  for (let tries = 1; ; tries++)
    try {
      return await spawnTickstream('serve', args, {}, { listenTimeoutMs: 60_000 });
    } catch (err) {
      if (tries === 3) throw err;
      say(`a server did not start (${String(err)}); trying again`);
    }
};
const startIngest = (dir: number) => startServer(ingestArgs(dataDirs[dir]!));

let ingest = { server: await startIngest(0), dir: 0 };
const edges: ServerChild[] = [await startServer(edgeArgs), await startServer(edgeArgs)];
await waitFor(
  async () => (await isReady(edges[0]!.port)) && isReady(edges[1]!.port),
  'both edges ready',
  30_000,
);

const figures = {
  churns: 0,
  resumes: 0,
  notRecovered: 0,
  resumeRetries: 0,
  faultFailures: 0,
  unfenced: 0,
};
const faultLog: { at: string; name: string; ms: number; note: string }[] = [];

// The router: clients go only to edges that say they are ready, as behind a load balancer.
let readyPorts: number[] = edges.map((e) => e.port);
const tasks = periodic('chaos');
tasks.every(250, async () => {
  const ports = edges.map((e) => e.port);
  const ready = await Promise.all(ports.map(isReady));
  readyPorts = ports.filter((_, i) => ready[i]);
});
const wsUrl = (port: number) => `ws://127.0.0.1:${port}/ws`;

const mirrors: Mirror[] = [
  ...(await openCrowd(wsUrl(edges[0]!.port), Math.floor(clients / 2))),
  ...(await openCrowd(wsUrl(edges[1]!.port), Math.ceil(clients / 2))),
];
const epochAtStart = mirrors[0]!.epoch;

// Every client whose connection ended (an edge killed, a resync's 1012, a churn) resumes on a
// ready edge from what it holds.
const resuming = new Set<Mirror>();
const resume = async (m: Mirror) => {
  const port = readyPorts[Math.floor(Math.random() * readyPorts.length)];
  if (port === undefined) return;
  resuming.add(m);
  try {
    const before = m.recovered.length;
    await m.resume(wsUrl(port));
    await waitFor(() => m.recovered.length > before, 'the resume answer', 10_000);
    figures.resumes++;
    if (m.recovered.at(-1) === false) figures.notRecovered++;
  } catch {
    // The edge went away mid-resume: the next sweep tries again elsewhere.
    figures.resumeRetries++;
    m.vanish();
  } finally {
    resuming.delete(m);
  }
};
tasks.every(250, () => {
  for (const m of mirrors) if (m.ws.readyState === WebSocket.CLOSED && !resuming.has(m)) void resume(m);
});
const churn = periodic('chaos churn');
churn.every(1000, () => {
  const open = mirrors.filter((m) => m.ws.readyState === WebSocket.OPEN && !resuming.has(m));
  for (const m of open.filter(() => Math.random() < 0.02)) {
    m.vanish();
    figures.churns++;
  }
});

/** Waits until the ingest publishes with nothing queued and every edge is ready at its seq. */
const settled = async (timeoutMs = 60_000) => {
  await waitFor(
    async () => {
      const h = await json(ingest.server.port, '/healthz');
      if (h?.bus?.publish?.ok !== true || h.bus.unpublished !== 0) return false;
      const seqs = await Promise.all(
        edges.map(
          async (e) => (await json(e.port, '/readyz'))?.ready && (await json(e.port, '/healthz'))?.seq,
        ),
      );
      return seqs.every((s) => s === h.seq);
    },
    'the cluster settled',
    timeoutMs,
  );
};

const pick = () => Math.floor(Math.random() * edges.length);

const faults: { name: string; run: () => Promise<string> }[] = [
  {
    name: 'kill -9 an edge',
    run: async () => {
      const i = pick();
      await edges[i]!.stop('SIGKILL');
      await sleep(500);
      edges[i] = await startServer(edgeArgs);
      const t = Date.now();
      await waitFor(() => isReady(edges[i]!.port), 'the edge ready', 30_000);
      return `edge ${i} restarted, ready ${Date.now() - t} ms after listening`;
    },
  },
  {
    name: 'freeze an edge 5 s',
    run: async () => {
      const i = pick();
      edges[i]!.child.kill('SIGSTOP');
      await sleep(5000).finally(() => edges[i]!.child.kill('SIGCONT'));
      await settled();
      return `edge ${i} frozen and woken; caught up`;
    },
  },
  {
    name: 'kill -9 the ingest',
    run: async () => {
      const before = (await json(ingest.server.port, '/healthz'))?.seq;
      await ingest.server.stop('SIGKILL');
      ingest = { server: await startIngest(ingest.dir), dir: ingest.dir };
      const after = (await json(ingest.server.port, '/healthz'))?.seq;
      await settled();
      return `restarted on its data dir at seq ${after} (was ${before} when killed)`;
    },
  },
  {
    name: 'freeze the ingest past its lease; another takes over',
    run: async () => {
      const old = ingest;
      old.server.child.kill('SIGSTOP');
      // The new one waits out the frozen one's lease before it listens.
      const server = await startIngest(1 - old.dir).finally(() => old.server.child.kill('SIGCONT'));
      ingest = { server, dir: 1 - old.dir };
      const fenced = await waitFor(
        () => old.server.logs().some((l) => String(l.msg).startsWith('another ingest took the lease')),
        'the old ingest fenced off',
        15_000,
      ).catch(() => false);
      if (!fenced) figures.unfenced++;
      await old.server.stop('SIGKILL');
      await settled();
      return fenced
        ? 'the woken ingest stood down; the new one publishes'
        : 'NOT FENCED: the woken ingest went on';
    },
  },
  {
    name: 'restart Redis (empty)',
    run: async () => {
      await redis.restart();
      const t = Date.now();
      await settled();
      return `the ingest re-seeded it; cluster settled ${Date.now() - t} ms after Redis was back`;
    },
  },
  {
    name: 'freeze Redis 3 s',
    run: async () => {
      const pid = redis.pid!;
      process.kill(pid, 'SIGSTOP');
      let during: Answer | undefined;
      try {
        await sleep(2500);
        during = await json(ingest.server.port, '/healthz');
        await sleep(500);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await settled();
      return `ingest /healthz while frozen: ${String(during?.status)}; caught up`;
    },
  },
  {
    name: 'fill the data dir’s filesystem 5 s',
    run: async () => {
      if (disk.cannotFill) return `skipped: ${disk.cannotFill}`;
      const bytes = disk.fill();
      let during: Answer | undefined;
      try {
        await sleep(5000);
        during = await json(ingest.server.port, '/healthz');
      } finally {
        disk.free();
      }
      await settled();
      return `filled ${Math.round(bytes / 1024)} KB; ingest /healthz said ${String(during?.status)}${
        during?.journal ? ` journal ${JSON.stringify(during.journal)}` : ''
      }`;
    },
  },
];

const deadline = started + runMs;
const runFaults = async () => {
  for (let i = 0; Date.now() < deadline; i++) {
    const fault = faults[i % faults.length]!;
    const t = Date.now();
    let note: string;
    try {
      note = await fault.run();
    } catch (err) {
      figures.faultFailures++;
      note = `FAILED: ${String(err)}`;
    }
    faultLog.push({ at: elapsed(), name: fault.name, ms: Date.now() - t, note });
    say(`fault: ${fault.name}: ${note}`);
    await sleep(2000 + Math.random() * 3000);
  }
};

tasks.every(10_000, async () => {
  const h = await json(ingest.server.port, '/healthz');
  const edgeSeqs = await Promise.all(edges.map(async (e) => (await json(e.port, '/healthz'))?.seq ?? 'down'));
  const open = mirrors.filter((m) => m.ws.readyState === WebSocket.OPEN).length;
  say(
    `ingest seq ${String(h?.seq)} (${String(h?.status)}, unpublished ${String(h?.bus?.unpublished)}), ` +
      `edges seq ${edgeSeqs.join(' / ')} ready ${readyPorts.length}/2, clients open ${open}/${mirrors.length}, ` +
      `resumes ${figures.resumes} (recovered:false ${figures.notRecovered}), churned ${figures.churns}, ` +
      `faults ${faultLog.length}`,
  );
});

say(
  `chaos ${minutes} min: ingest, 2 edges, redis-server on ${redis.url}, ${mirrors.length} clients, feed at ${speed}x`,
);
if (disk.cannotFill) say(`filling the data dir is skipped: ${disk.cannotFill}`);
await runFaults();
churn.stop();

// The end: the replay finishes, the cluster settles, every client catches up and must hold
// exactly the ingest's snapshot.
await waitFor(
  async () => (await json(ingest.server.port, '/healthz'))?.source === 'ended',
  'the replay to end',
  8 * 60_000,
).catch(() => say('the replay did not end in time; comparing at the current seq'));
await settled(60_000).catch((err: unknown) => say(`not settled: ${String(err)}`));
const truth = (await json(ingest.server.port, '/api/snapshot')) as {
  epoch: string;
  seq: number;
  quotes: Quote[];
};
await waitFor(
  () => mirrors.every((m) => m.ws.readyState === WebSocket.OPEN && m.seq >= truth.seq),
  'every client at the last seq',
  60_000,
).catch(() => undefined);
const same = (quotes: Quote[]) => JSON.stringify(quotes) === JSON.stringify(truth.quotes);
const edgesWrong = (
  await Promise.all(
    edges.map(async (e) => same(((await json(e.port, '/api/snapshot'))?.quotes ?? []) as Quote[])),
  )
).filter((ok) => !ok).length;
const wrong = mirrors.filter((m) => !same(m.snapshot())).length;
const lost = wrong + edgesWrong;

process.stdout.write(`\nfaults (${faultLog.length}):\n`);
for (const f of faultLog) process.stdout.write(`  ${f.at.padStart(5)} ${f.name} (${f.ms} ms): ${f.note}\n`);
process.stdout.write(
  `\nchaos ${minutes} min: ${mirrors.length} clients, ${truth.seq} events, epoch ${
    truth.epoch === epochAtStart ? 'unchanged' : 'CHANGED'
  }; ${figures.resumes} resumes (${figures.notRecovered} answered recovered:false, ${figures.resumeRetries} retried), ` +
    `${figures.churns} clients dropped at random; ${figures.faultFailures} faults failed to run, ` +
    `${figures.unfenced} woken ingests not fenced off; edges not equal to the ingest: ${edgesWrong}, ` +
    `clients not equal to the ingest: ${wrong}; data lost: ${lost}\n`,
);

async function cleanup(): Promise<void> {
  tasks.stop();
  churn.stop();
  for (const m of mirrors) m.vanish();
  await Promise.all([ingest.server.stop('SIGKILL'), ...edges.map((e) => e.stop('SIGKILL'))]);
  await redis.stop();
  disk.close();
  rmSync(work, { recursive: true, force: true });
}
await cleanup();
clearTimeout(hardDeadline);
process.exit(lost === 0 && figures.unfenced === 0 ? 0 : 1);
