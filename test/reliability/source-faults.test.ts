import { mkdtempSync, rmSync, unlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isQuote } from '../../src/parse/events.ts';
import { parseText } from '../../src/parse/parse-text.ts';
import type { Quote } from '../../src/protocol/messages.ts';
import { fixture, TestClient, waitFor } from '../helpers.ts';
import { httpGet } from './crowd.ts';
import { spawnTickstream, type ServerChild } from '../server-child.ts';

// The fixture's two frames as page text (no @@ line), and as @@-framed text for stdin and files.
const framed = fixture('two-frames.txt')
  .split(/^(?=@@)/m)
  .map((f) => (f.endsWith('\n') ? f : `${f}\n`)) as [string, string];
const [page1, page2] = framed.map((f) => f.replace(/^@@.*\n/, '')) as [string, string];
const valuesIn = (text: string) =>
  new Map(
    parseText(text)
      .filter(isQuote)
      .map((q) => [q.symbol, q.price]),
  );
const first = valuesIn(page1);
const second = valuesIn(page2);

const tmp = mkdtempSync(join(tmpdir(), 'tickstream-faults-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const snapshot = async (port: number) =>
  (JSON.parse((await httpGet(port, '/api/snapshot')).body) as { quotes: Quote[] }).quotes;
const health = async (port: number) =>
  JSON.parse((await httpGet(port, '/healthz')).body) as { status: string; source: string };

describe('the source failing mid-run, through the CLI', () => {
  let server: ServerChild | undefined;
  let client: TestClient | undefined;
  let page: Server | undefined;
  afterEach(async () => {
    await client?.close();
    await server?.stop();
    await new Promise((resolve) => (page ? page.close(resolve) : resolve(undefined)));
    [server, client, page] = [undefined, undefined, undefined];
  });

  /** A client subscribed to every quote, connected for the whole fault. */
  const watch = async (port: number) => {
    client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    client.send({ op: 'subscribe', channel: 'quotes' });
    await client.next('snapshot');
    return client;
  };

  it('stdin closed mid-frame: status ended, the last whole state served, no torn line misread', async () => {
    server = await spawnTickstream('serve', ['--feed', '-', '--port', '0', '--host', '127.0.0.1']);
    server.child.stdin!.write(framed[0]);
    await waitFor(async () => (await snapshot(server!.port)).length === 34, 'the first frame', 10_000);
    const c = await watch(server.port);
    // A scraper killed mid-write: half of the next capture, cut inside a quote line.
    const cut = framed[1].indexOf('(', framed[1].indexOf('KSE100'));
    server.child.stdin!.end(framed[1].slice(0, cut));
    await c.next('status', (m) => m.state === 'ended', 0);
    const quotes = await snapshot(server.port);
    expect(quotes).toHaveLength(34);
    // Each value is one a whole line of either frame gave; the cut KSE100 line is not among them.
    for (const q of quotes) expect([first.get(q.symbol), second.get(q.symbol)]).toContain(q.price);
    expect(quotes.find((q) => q.symbol === 'KSE100')!.price).toBe(first.get('KSE100'));
    expect(await health(server.port)).toMatchObject({ status: 'ok', source: 'ended' });
    expect(c.closeCode).toBeUndefined();
  });

  it('HTTP 500s: status stale, the last state served, running again with the next page', async () => {
    let body: string | undefined = page1;
    page = createServer((_req, res) => {
      if (body === undefined) res.writeHead(500).end('upstream down');
      else res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
    });
    await new Promise<void>((resolve) => page!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
    server = await spawnTickstream('serve', [
      ...['--source', url, '--poll', '50ms', '--stale-after', '400ms'],
      ...['--port', '0', '--host', '127.0.0.1'],
    ]);
    await waitFor(async () => (await snapshot(server!.port)).length === 34, 'the first page', 10_000);
    const c = await watch(server.port);
    const before = await snapshot(server.port);

    body = undefined;
    const stale = await c.next('status', (m) => m.state === 'stale', 0);
    expect(await snapshot(server.port)).toEqual(before);
    expect(await health(server.port)).toMatchObject({ status: 'ok', source: 'stale' });

    body = page2;
    await c.next('status', (m) => m.state === 'running', c.messages.indexOf(stale));
    await c.next('quote', (m) => m.symbol === 'AIRLINK' && m.price === second.get('AIRLINK'));
    expect(c.closeCode).toBeUndefined();
    const failures = server.logs().filter((l) => (l.level as number) >= 40).length;
    console.info(`HTTP 500s: ${failures} warnings logged while down, stale then running, no reconnect`);
    expect(failures).toBeGreaterThan(0);
  });

  it('followed file deleted: status stale, the last state served, running again when it returns', async () => {
    const file = join(tmp, 'follow.txt');
    writeFileSync(file, framed[0]);
    server = await spawnTickstream('serve', [
      ...['--follow', file, '--poll', '50ms', '--stale-after', '400ms'],
      ...['--port', '0', '--host', '127.0.0.1'],
    ]);
    await waitFor(async () => (await snapshot(server!.port)).length === 34, 'the first frame', 10_000);
    const c = await watch(server.port);
    const before = await snapshot(server.port);

    unlinkSync(file);
    const stale = await c.next('status', (m) => m.state === 'stale', 0);
    expect(await snapshot(server.port)).toEqual(before);

    writeFileSync(file, '');
    appendFileSync(file, framed[1]);
    await c.next('status', (m) => m.state === 'running', c.messages.indexOf(stale));
    await c.next('quote', (m) => m.symbol === 'AIRLINK' && m.price === second.get('AIRLINK'));
    expect(c.closeCode).toBeUndefined();
  });
});
