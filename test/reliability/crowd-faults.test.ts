import type { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/serve.ts';
import type { Frame } from '../../src/source/frame.ts';
import { fixtureFrames, startWithFrames, waitFor } from '../helpers.ts';
import { httpGet, liveHeap, percentile, watchHealth } from './crowd.ts';
import { CrowdChild } from './crowd-child.ts';

// Both suites put 2,000 clients in a child process beside a server: they share one file so
// they run one after the other, not side by side on two cores.
const CROWD = 2000;
const MB = 1024 * 1024;
// A variable, not a literal, so the limits apply where the transport has them. Every client of
// the crowd comes from 127.0.0.1: the per-address limits are lifted like the total.
const roomy = {
  maxConnections: 20_000,
  maxConnectionsPerIp: 20_000,
  maxItemsPerIp: 1e9,
  maxRequestBytesPerIp: 1e9,
};
const [first, second] = fixtureFrames('two-frames.txt');

// Short enough for a quick test, long enough that a busy but live crowd is never cut off.
const HEARTBEAT_MS = 2000;

describe('clients that vanish without a close', () => {
  let running: Running;
  const children: CrowdChild[] = [];

  beforeAll(async () => {
    const transport = {
      heartbeatMs: HEARTBEAT_MS,
      limits: roomy,
    };
    const started = await startWithFrames({ transport });
    running = started.running;
    started.frames$.next(first!);
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()));
    await running.close();
  });

  /** One round: a crowd connects, freezes, is found by ping/pong and freed; returns figures. */
  const frozenRound = async () => {
    const child = await CrowdChild.start(running.server.url, CROWD);
    children.push(child);
    // On a starved machine a live client can miss a pong and be cut off while the crowd connects.
    const held = Number(await child.command('open', 'open'));
    expect(held).toBeGreaterThanOrEqual(0.95 * CROWD);
    await waitFor(() => running.server.clientCount() === held, 'every open client on the server');
    const peak = liveHeap();
    const frozenAt = performance.now();
    child.signal('SIGSTOP');
    await waitFor(() => running.server.clientCount() === 0, 'the frozen clients to be freed', 10_000);
    const freedMs = performance.now() - frozenAt;
    await child.stop();
    return { held, peak, freedMs };
  };

  it(`frees ${CROWD} frozen clients by ping/pong and returns to its baseline heap`, async () => {
    // A first round warms up what is allocated once (compiled code, pools), then the baseline.
    await frozenRound();
    const baseline = liveHeap();
    const { held, peak, freedMs } = await frozenRound();
    const after = liveHeap();
    console.info(
      `frozen clients: ${held}, heap baseline ${(baseline / MB).toFixed(1)} MB, ` +
        `with clients ${(peak / MB).toFixed(1)} MB, after ${(after / MB).toFixed(1)} MB, ` +
        `freed in ${freedMs.toFixed(0)} ms (heartbeat ${HEARTBEAT_MS} ms)`,
    );
    // The clients cost real memory, and all of it comes back.
    expect(peak - baseline).toBeGreaterThan(2 * MB);
    expect(after - baseline).toBeLessThan(Math.max(1 * MB, 0.05 * (peak - baseline)));
    expect((await httpGet(running.server.port, '/healthz')).status).toBe(200);
  }, 90_000);

  it('frees clients whose process is killed, without waiting for a ping', async () => {
    const child = await CrowdChild.start(running.server.url, 500);
    children.push(child);
    await waitFor(() => running.server.clientCount() === 500, 'every client on the server');
    const killedAt = performance.now();
    child.signal('SIGKILL');
    await waitFor(() => running.server.clientCount() === 0, 'the killed clients to be freed');
    const ms = performance.now() - killedAt;
    console.info(`killed process: 500 clients freed in ${ms.toFixed(0)} ms`);
  });
});

describe('a reconnect storm', () => {
  let running: Running;
  let frames$: Subject<Frame>;
  let crowd: CrowdChild | undefined;
  let pushed = 0;
  const push = () => frames$.next(++pushed % 2 ? second! : first!);

  beforeAll(async () => {
    const transport = { limits: roomy };
    ({ running, frames$ } = await startWithFrames({ transport }));
    frames$.next(first!);
  });
  afterAll(async () => {
    await crowd?.stop();
    await running.close();
  });

  it(`resumes ${CROWD} clients reconnecting at once, each to the server's exact state`, async () => {
    crowd = await CrowdChild.start(running.server.url, CROWD);
    const before = running.hub.seq;
    await crowd.command('vanish', 'gone');
    await waitFor(() => running.server.clientCount() === 0, 'the crowd to be gone');
    // The feed moves while they are away (30 deltas), and keeps moving during the storm.
    for (let i = 0; i < 10; i++) push();
    const missed = running.hub.seq - before;

    const health = watchHealth(running.server.port);
    const feed = setInterval(push, 100);
    let storm: { ms: number; retries: number };
    try {
      storm = JSON.parse(await crowd.command('resume', 'resumed')) as typeof storm;
    } finally {
      clearInterval(feed);
    }
    const { latencies, failures } = await health.stop();

    const last = running.hub.seq;
    const { recovered, states } = JSON.parse(await crowd.command(`state ${last}`, 'state')) as {
      recovered: number;
      states: [string, number][];
    };
    const truth = running.hub.snapshot();
    console.info(
      `reconnect storm: ${CROWD} clients resumed in ${storm.ms} ms (${storm.retries} connects retried), ` +
        `${missed} events missed while away, ${last - before - missed} more during the storm, ` +
        `${recovered} recovered:true, every state equal to the server's; /healthz answered ` +
        `${latencies.length} times, p50 ${percentile(latencies, 50).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`,
    );
    expect(recovered).toBe(CROWD);
    expect(states.map(([json]) => JSON.parse(json) as unknown)).toEqual([truth]);
    expect(JSON.parse((await httpGet(running.server.port, '/api/snapshot')).body).quotes).toEqual(truth);

    expect(failures).toEqual([]);
    // /healthz answered throughout; how fast is a figure for docs/reliability.md, not a test.
    expect(latencies.length).toBeGreaterThan(0);
  }, 120_000);
});
