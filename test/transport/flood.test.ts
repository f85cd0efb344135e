import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/serve.ts';
import { startWithFrames, TestClient, waitFor } from '../helpers.ts';

const HISTORY = 100_000;
const SYMBOLS = 1000;

/** Fills the hub with `HISTORY` quote events over `SYMBOLS` symbols, as a busy feed would. */
const fillHistory = (running: Running) => {
  const ts = new Date().toISOString();
  for (let i = 0; i < HISTORY; i++) {
    const symbol = `S${String(i % SYMBOLS).padStart(4, '0')}`;
    running.hub.accept({ type: 'quote', seq: running.hub.seq + 1, symbol, v: 1, price: i, ts });
  }
};

/** Polls /healthz back to back while `during` runs; returns the slowest round trip in ms. */
const worstHealthz = async (port: number, during: Promise<unknown>) => {
  let done = false;
  void during.finally(() => (done = true));
  let worst = 0;
  while (!done) {
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    await res.text();
    worst = Math.max(worst, performance.now() - started);
    await new Promise((r) => setTimeout(r, 5));
  }
  return worst;
};

/** Opens an SSE stream with raw headers and resolves once its first event arrived. */
const openStream = (port: number, path: string, headers: Record<string, string>) =>
  new Promise<() => void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.once('data', () => resolve(() => req.destroy()));
      res.once('end', () => resolve(() => {}));
    });
    req.on('error', reject);
    req.end();
  });

// The two floods of issue 14, each of which held /healthz for over 3 s; the worst round trip
// goes in docs/security.md.
describe('floods through resume', () => {
  let running: Running;
  let first: number;
  // The goal is 100 ms, and the worst figure is printed for docs/security.md. The test
  // fails at 1 s or three times the no-flood worst: a stall of the kind took over 3 s,
  // while a full suite on two workers put an unstalled server's worst at 150-210 ms.
  let bound = 1000;
  beforeAll(async () => {
    ({ running } = await startWithFrames({
      hub: { history: { size: HISTORY, ageMs: 3_600_000 } },
      transport: { security: { allowOrigins: ['http://ok.example'], authToken: 'T' } },
    }));
    fillHistory(running);
    first = running.hub.seq - HISTORY + 1;
    // The first fetch in a process loads its HTTP client; that is not the server's time.
    await worstHealthz(running.server.port, new Promise((r) => setTimeout(r, 200)));
    const idle = await worstHealthz(running.server.port, new Promise((r) => setTimeout(r, 2000)));
    console.log(`no flood: worst /healthz round trip ${idle.toFixed(1)} ms`);
    bound = Math.max(1000, 3 * idle);
  });
  afterAll(() => running.close());

  it('60 resumes from the start of history with 1,000 patterns that match nothing never stall /healthz (worst printed; the goal is 100 ms)', async () => {
    const client = await TestClient.connect(`${running.server.url}?token=T`);
    const patterns = Array.from({ length: 1000 }, (_, i) => `ZZ${i}*`);
    const since = { epoch: running.hub.epoch, seq: first - 1 };
    // One request first: compiling the validation code is paid once per process, not per request.
    client.send({ op: 'subscribe', channel: 'quotes', id: 'warm', symbols: patterns });
    await client.next('subscribed', (m) => m.id === 'warm');
    await new Promise((r) => setTimeout(r, 1000));
    const flood = (async () => {
      for (let i = 0; i < 60; i++) {
        client.send({ op: 'subscribe', channel: 'quotes', id: i, symbols: patterns, since });
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 1100));
      }
      // Answered in order: the pong comes after every subscribe was handled.
      client.send({ op: 'ping', id: 'end' });
      await client.next('pong', (m) => m.id === 'end');
    })();
    const worst = await worstHealthz(running.server.port, flood);
    await client.close();
    console.log(`resume flood: worst /healthz round trip ${worst.toFixed(1)} ms`);
    expect(worst).toBeLessThan(bound);
    // Each second the first request is served, from a snapshot; the rest are over the budget.
    const subscribed = client.ofType('subscribed');
    expect(subscribed.length).toBeGreaterThanOrEqual(3);
    expect(subscribed.every((m) => !m.recovered)).toBe(true);
    expect(client.ofType('error').every((m) => m.code === 'rate_limited')).toBe(true);
  });

  it('5 SSE streams naming quotes 2,000 times with Last-Event-ID at the start of history never stall /healthz (worst printed; the goal is 100 ms)', async () => {
    const path = `/api/stream?token=T&channels=${Array(2000).fill('quotes').join(',')}`;
    const lastEventId = `${running.hub.epoch}:${first - 1}`;
    const flood = Promise.all(
      Array.from({ length: 5 }, () =>
        openStream(running.server.port, path, { 'last-event-id': lastEventId }),
      ),
    );
    const worst = await worstHealthz(running.server.port, flood);
    console.log(`SSE flood: worst /healthz round trip ${worst.toFixed(1)} ms`);
    for (const stop of await flood) stop();
    expect(worst).toBeLessThan(bound);
    await waitFor(() => running.server.clientCount() === 0, 'the streams to close');
  });
});
