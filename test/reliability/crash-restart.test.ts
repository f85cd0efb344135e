import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Quote } from '../../src/protocol/messages.ts';
import { repoPath, waitFor } from '../helpers.ts';
import { httpGet, Mirror } from './crowd.ts';
import { spawnTickstream, type ServerChild } from '../server-child.ts';

const SESSION = repoPath('replay/session.txt.gz');
// A trading day in about eight seconds: long enough to kill it three times in the middle.
const SPEED = '2700';
const KILLS = 3;
const CLIENTS = 20;

const tmp = mkdtempSync(join(tmpdir(), 'tickstream-crash-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const getJson = async <T>(port: number, path: string): Promise<T> =>
  JSON.parse((await httpGet(port, path)).body) as T;

describe('kill -9 during a replay at speed', () => {
  const servers: ServerChild[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  it(`with --data-dir: ${KILLS} kills, clients resume each time and end in exactly the server's state`, async () => {
    const dir = mkdtempSync(join(tmp, 'serve-'));
    // The mirrors follow quotes and headlines to the last seq; bars across kill -9 are
    // test/hub/restart.test.ts's, so they are off here.
    const args = [
      ...['--feed', SESSION, '--speed', SPEED, '--data-dir', join(dir, 'data'), '--bar-days', '0'],
      ...['--port', '0', '--host', '127.0.0.1', '--heartbeat', '60s'],
    ];
    let server = await spawnTickstream('serve', args);
    servers.push(server);
    const url = () => `ws://127.0.0.1:${server.port}/ws`;
    const mirrors = Array.from({ length: CLIENTS }, () => new Mirror(url()));
    await Promise.all(mirrors.map((m) => m.opened()));
    for (const m of mirrors) m.subscribe();
    const epoch = (await getJson<{ epoch: string }>(server.port, '/healthz')).epoch;

    const seqAtKill: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const from = (await getJson<{ seq: number }>(server.port, '/healthz')).seq;
      // Kill while events flow: after at least 150 more, at a point no one chose.
      await waitFor(
        async () => (await getJson<{ seq: number }>(server.port, '/healthz')).seq > from + 150,
        'events to flow',
        10_000,
      );
      await server.stop('SIGKILL');
      seqAtKill.push(Math.max(...mirrors.map((m) => m.seq)));
      await waitFor(() => mirrors.every((m) => m.closeCode !== undefined), 'every client to see the drop');
      server = await spawnTickstream('serve', args);
      servers.push(server);
      const hello = await getJson<{ epoch: string; seq: number }>(server.port, '/healthz');
      expect(hello.epoch).toBe(epoch);
      expect(hello.seq).toBeGreaterThanOrEqual(seqAtKill.at(-1)!);
      await Promise.all(mirrors.map((m) => m.resume(url())));
    }

    await waitFor(
      async () => (await getJson<{ source: string }>(server.port, '/healthz')).source === 'ended',
      'the replay to end',
      30_000,
    );
    const truth = await getJson<{ seq: number; quotes: Quote[] }>(server.port, '/api/snapshot');
    await waitFor(() => mirrors.every((m) => m.seq === truth.seq), 'every client at the last seq', 10_000);
    // The first subscribe is fresh; every one after a kill resumed from history.
    expect(
      mirrors.every((m) => m.recovered.length === KILLS + 1 && m.recovered.slice(1).every(Boolean)),
    ).toBe(true);
    expect(mirrors.filter((m) => JSON.stringify(m.snapshot()) !== JSON.stringify(truth.quotes))).toHaveLength(
      0,
    );
    console.info(
      `kill -9: ${KILLS} kills at seq ${seqAtKill.join(', ')}, ${CLIENTS} clients resumed recovered:true each time, ` +
        `final seq ${truth.seq}, ${truth.quotes.length} quotes, every client equal to the server`,
    );
    for (const m of mirrors) m.vanish();
  }, 90_000);

  // Was a bug: the replay started again at its first frame and skipped the published ones
  // only after their timers, so the feed sat silent for as long as it had run before the crash.
  // The restart replays at a twentieth of the first run's speed: the bug would keep it silent
  // for twenty times the first run, while the next frame (15-60 s of the day) is due within 1.2 s.
  it('goes on with the replay at once after a restart, not after the time already replayed', async () => {
    const dir = mkdtempSync(join(tmp, 'stall-'));
    const args = (speed: string) => [
      ...['--feed', SESSION, '--speed', speed, '--data-dir', join(dir, 'data')],
      ...['--port', '0', '--host', '127.0.0.1'],
    ];
    const seqOf = async (s: ServerChild) => (await getJson<{ seq: number }>(s.port, '/healthz')).seq;
    const first = await spawnTickstream('serve', args('1000'));
    servers.push(first);
    // About an hour of the trading day at 1000x.
    const ranFor = performance.now();
    await waitFor(async () => (await seqOf(first)) > 1000, 'an hour of the day', 20_000);
    const firstRunMs = performance.now() - ranFor;
    await first.stop('SIGKILL');
    const second = await spawnTickstream('serve', args('50'));
    servers.push(second);
    const at = await seqOf(second);
    const restarted = performance.now();
    // A quarter of what the bug would take: a liveness deadline, not a speed goal.
    await waitFor(async () => (await seqOf(second)) > at, 'the next event', Math.max(5 * firstRunMs, 5000));
    console.info(
      `replay after kill -9: first new event ${(performance.now() - restarted).toFixed(0)} ms after the ` +
        `restart (first run ${firstRunMs.toFixed(0)} ms at 1000x, restart at 50x)`,
    );
  }, 120_000);

  it('record killed mid-write leaves no torn line that breaks a replay of the recording', async () => {
    const out = mkdtempSync(join(tmp, 'record-'));
    const recorder = await spawnTickstream('record', ['--out', out, '--feed', SESSION, '--speed', SPEED]);
    servers.push(recorder);
    await waitFor(
      () => readdirSync(out).some((f) => readFileSync(join(out, f), 'utf8').split('\n').length > 100),
      'a hundred recorded frames',
      20_000,
    );
    await recorder.stop('SIGKILL');

    const files = readdirSync(out).map((f) => join(out, f));
    const lines = files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
    const whole = lines.filter((l) => {
      try {
        JSON.parse(l);
        return true;
      } catch {
        return false;
      }
    });
    // At most the line in flight may be cut, and only at the very end.
    expect(lines.length - whole.length).toBeLessThanOrEqual(1);

    const replay = await spawnTickstream('serve', [
      ...['--feed', out, '--speed', '0', '--port', '0', '--host', '127.0.0.1'],
    ]);
    servers.push(replay);
    await waitFor(
      async () => (await getJson<{ source: string }>(replay.port, '/healthz')).source === 'ended',
      'the recording to replay',
      20_000,
    );
    const replayed = replay.logs().find((l) => l.msg === 'replaying feed');
    expect(replayed?.frames).toBe(whole.length);
    expect((await getJson<{ quotes: Quote[] }>(replay.port, '/api/snapshot')).quotes).toHaveLength(34);
    expect(replay.logs().filter((l) => (l.level as number) >= 50)).toEqual([]);
    console.info(
      `record kill -9: ${lines.length} lines written, ${lines.length - whole.length} torn, ` +
        `${whole.length} frames replayed to a 34-quote state`,
    );
  });
});
