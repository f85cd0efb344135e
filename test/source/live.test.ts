import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isHeadline, isQuote } from '../../src/parse/events.ts';
import { parseText } from '../../src/parse/parse-text.ts';
import { serve, type Running } from '../../src/serve.ts';
import { openSource, type SourceConfig } from '../../src/source/options.ts';
import { MAX_PAGE_BYTES, pollPage } from '../../src/source/poll-page.ts';
import { fixture, quietLog, repoPath, TestClient, testConfig, waitFor } from '../helpers.ts';
import { capturingLog } from './log-capture.ts';

const seed = readFileSync(repoPath('replay/seed.txt'), 'utf8');
const seedQuotes = parseText(seed).filter(isQuote);
const seedStory = parseText(seed).find(isHeadline)!;
const [frame1, frame2] = fixture('two-frames.txt')
  .split(/^(?=@@)/m)
  .map((f) => (f.endsWith('\n') ? f : `${f}\n`)) as [string, string];
const tmp = mkdtempSync(join(tmpdir(), 'tickstream-live-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/’/g, '&#8217;');

/** The seed as the site might serve it: the ticker in a list, the story in paragraphs, chrome around. */
const seedPage = () => {
  const [ticker, ...rest] = seed.split('\n\n');
  const items = ticker!
    .split('\n')
    .map((line) => line.split(' '))
    .map(
      ([symbol, ...move]) =>
        `<li><span class="sym">${symbol}</span>\n<span>${escapeHtml(move.join(' '))}</span></li>`,
    );
  return `<!doctype html><html><head><title>Markets</title>
<style>.sym { font-weight: bold } /* KSE100 1 Increased By 1.0 (1%) */</style>
<script>window.ticker = "KSE100 99,999 Increased By 1.0 (0%)";</script></head>
<body><nav><a href="/">Home</a><div>KSE100 99,999 Increased By 1.0 (0%)</div></nav>
<header><h1>Business &amp; Markets</h1></header>
<div class="ticker"><ul>${items.join('')}</ul></div>
<article>${rest.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}</article>
<!-- <p>KARACHI: A commented-out story.</p> -->
<aside><p>KARACHI: A sidebar story in the page chrome.</p><nav><div>KSE30 1 Increased By 1.0 (0%)</div></nav></aside>
<footer><p>Copyright 2023</p></footer></body></html>`;
};

const sourceConfig = (over: Partial<SourceConfig>): SourceConfig => ({ ...testConfig().source, ...over });

describe('live sources through a real server', () => {
  let running: Running | undefined;
  let page: Server | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await running?.close();
    running = undefined;
    await new Promise((resolve) => (page ? page.close(resolve) : resolve(undefined)));
    page = undefined;
  });
  const connect = async () => {
    const client = await TestClient.connect(running!.server.url);
    clients.push(client);
    return client;
  };
  const price = (symbol: string) => running!.hub.currentValues().get(symbol)?.price;

  it('polls an HTML page and serves its quotes and story, not its navigation, scripts or styles', async () => {
    page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(seedPage()));
    await new Promise<void>((resolve) => page!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(page.address() as AddressInfo).port}/markets`;
    const source = openSource(sourceConfig({ url, pollMs: 50 }), quietLog());
    running = await serve(testConfig(), quietLog(), source);
    await waitFor(() => running!.hub.currentValues().size === 34, 'the page quotes in the hub');

    const client = await connect();
    client.send({ op: 'subscribe', channel: 'quotes' });
    client.send({ op: 'subscribe', channel: 'headlines' });
    const quotes = await client.next('snapshot', (m) => m.channel === 'quotes');
    const headlines = await client.next('snapshot', (m) => m.channel === 'headlines');
    const bySymbol = (a: { symbol: string }, b: { symbol: string }) => a.symbol.localeCompare(b.symbol);
    expect(
      quotes.channel === 'quotes' && quotes.quotes.sort(bySymbol).map((q) => [q.symbol, q.price, q.change]),
    ).toEqual([...seedQuotes].sort(bySymbol).map((q) => [q.symbol, q.price, q.change]));
    expect(
      headlines.channel === 'headlines' && headlines.headlines.map((h) => [h.id, h.title, h.text]),
    ).toEqual([[seedStory.id, seedStory.title, seedStory.text]]);
    expect(client.ofType('status').at(-1)).toMatchObject({ source: 'poll', state: 'running' });
  });

  it('takes a page served as plain text as it is', async () => {
    page = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(seed),
    );
    await new Promise<void>((resolve) => page!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(page.address() as AddressInfo).port}/capture.txt`;
    running = await serve(
      testConfig(),
      quietLog(),
      openSource(sourceConfig({ url, pollMs: 50 }), quietLog()),
    );
    await waitFor(() => running!.hub.currentValues().size === 34, 'the capture quotes in the hub');
    expect(price('KSE100')).toBe(72743);
  });

  it('refuses a page larger than the bound as a failed fetch, streamed or declared', async () => {
    page = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      // One answer declares its length, the other streams without one: both must be cut off.
      if (req.url === '/declared') res.end('x'.repeat(MAX_PAGE_BYTES + 1));
      else {
        res.write(seed);
        res.end('y'.repeat(MAX_PAGE_BYTES));
      }
    });
    await new Promise<void>((resolve) => page!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
    for (const path of ['/declared', '/streamed']) {
      const { log, records } = capturingLog();
      const frames: unknown[] = [];
      // A long poll, so the fetch's own timeout (the poll interval) is never what ends it on a busy machine.
      const sub = pollPage(`${base}${path}`, log, { pollMs: 20_000 }).subscribe((f) => frames.push(f));
      const failure = await waitFor(
        () => records.find((r) => r.msg === 'fetch failed; retrying'),
        `a refused ${path} page`,
        20_000,
      );
      sub.unsubscribe();
      expect((failure.err as { message: string }).message).toMatch(/larger than 8388608/);
      expect(frames).toEqual([]);
    }
  });

  it('logs a failed fetch with growing backoff, turns stale, and runs again when the page returns', async () => {
    let failing = true;
    page = createServer((_req, res) =>
      failing ? res.writeHead(503).end('down') : res.writeHead(200).end(seedPage()),
    );
    await new Promise<void>((resolve) => page!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
    const { log, records } = capturingLog();
    const source = openSource(sourceConfig({ url, pollMs: 40, staleAfterMs: 150 }), log);
    running = await serve(testConfig(), quietLog(), source);
    const client = await connect();
    await client.next('status', (m) => m.state === 'stale');
    const failures = () => records.filter((r) => r.msg === 'fetch failed; retrying');
    await waitFor(() => failures().length >= 3, 'three logged fetch failures');
    expect(failures().slice(0, 3)).toMatchObject([
      { url, attempt: 1, retryInMs: 40, err: { message: 'HTTP 503 Service Unavailable' } },
      { attempt: 2, retryInMs: 80 },
      { attempt: 3, retryInMs: 160 },
    ]);
    expect(running.hub.currentValues().size).toBe(0);

    failing = false;
    await client.next(
      'status',
      (m) => m.state === 'running',
      client.messages.findIndex((m) => m.type === 'status' && m.state === 'stale'),
    );
    await waitFor(() => price('KSE100') === 72743, 'the page quotes after recovery');
  });

  it('reads @@ frames from stdin in chunks cut anywhere, and ends when stdin does', async () => {
    const stdin = new PassThrough();
    const source = openSource(sourceConfig({ feed: '-' }), quietLog(), { stdin });
    running = await serve(testConfig(), quietLog(), source);
    const cut = frame1.indexOf('▲') + 1;
    stdin.write(Buffer.from(frame1).subarray(0, Buffer.from(frame1.slice(0, cut)).length - 1));
    stdin.write(Buffer.from(frame1).subarray(Buffer.from(frame1.slice(0, cut)).length - 1));
    // The next marker completes frame 1 at once; frame 2 is complete when the writer goes quiet.
    stdin.write(frame2);
    await waitFor(() => price('AIRLINK') === 81.1, 'both frames from stdin');
    expect(running.hub.currentValues().size).toBe(34);

    const client = await connect();
    expect((await client.next('status')).state).toBe('running');
    stdin.end();
    expect((await client.next('status', (m) => m.state === 'ended')).source).toBe('stdin');
  });

  it('reads an NDJSON recording piped to stdin, a frame a line', async () => {
    const stdin = new PassThrough();
    const source = openSource(sourceConfig({ feed: '-' }), quietLog(), { stdin });
    running = await serve(testConfig(), quietLog(), source);
    stdin.write(`${JSON.stringify({ capturedAt: '2023-11-09T04:31:00.000Z', text: seed })}\n`);
    await waitFor(() => price('AIRLINK') === 80.6, 'the recorded frame');
    expect(running.hub.currentValues().size).toBe(34);
    stdin.end();
  });

  it('follows a file that another program appends captures to', async () => {
    const path = join(tmp, 'follow.txt');
    writeFileSync(path, frame1);
    const source = openSource(sourceConfig({ follow: path, pollMs: 20 }), quietLog());
    running = await serve(testConfig(), quietLog(), source);
    await waitFor(() => price('AIRLINK') === 80.6, 'the first capture');
    const client = await connect();
    client.send({ op: 'subscribe', channel: 'quotes', symbols: ['AIRLINK'] });
    await client.next('snapshot');
    appendFileSync(path, frame2);
    const update = await client.next('quote');
    expect(update).toMatchObject({ symbol: 'AIRLINK', price: 81.1, ts: '2023-11-09T04:31:30.000Z' });
    expect(client.ofType('status').at(-1)).toMatchObject({ source: 'follow', state: 'running' });
  });

  it('says "ended" to clients when a replay without --loop finishes, and keeps the final state', async () => {
    const source = openSource(sourceConfig({ feed: repoPath('test/fixtures/two-frames.txt') }), quietLog());
    running = await serve(testConfig(), quietLog(), source);
    const client = await connect();
    expect(await client.next('status')).toMatchObject({ source: 'replay', state: 'ended' });
    expect(price('AIRLINK')).toBe(81.1);
  });
});
