import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/serve.ts';
import { startWithFrames } from '../helpers.ts';
import { launchChromium } from '../browser.ts';

/** A site on an origin of its own (another port), serving an empty page. */
const site = async (): Promise<{ server: Server; origin: string }> => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>news</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

/** In the page: opens an EventSource and resolves with the first message's type, or 'error'. */
const firstEvent = (url: string) =>
  new Promise<string>((resolve) => {
    const source = new EventSource(url);
    source.onmessage = (e) => {
      source.close();
      resolve((JSON.parse(e.data as string) as { type: string }).type);
    };
    source.onerror = () => {
      source.close();
      resolve('error');
    };
  });

describe('a news site on its own origin, in headless Chromium', () => {
  let browser: Browser;
  let running: Running;
  let news: { server: Server; origin: string };
  let other: { server: Server; origin: string };
  let api: string;
  beforeAll(async () => {
    [news, other] = [await site(), await site()];
    ({ running } = await startWithFrames({
      transport: { security: { allowOrigins: [news.origin], authToken: 'T' } },
    }));
    api = `http://127.0.0.1:${running.server.port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await running?.close();
    for (const s of [news, other]) s?.server.close();
  });

  it('streams with EventSource and reads /api/snapshot with a bearer token (preflight), from an allowed origin only', async () => {
    const page = await browser.newPage();
    await page.goto(news.origin);
    expect(await page.evaluate(firstEvent, `${api}/api/stream?token=T`)).toBe('hello');
    const status = await page.evaluate(
      (url) => fetch(url, { headers: { authorization: 'Bearer T' } }).then((r) => r.status),
      `${api}/api/snapshot`,
    );
    expect(status).toBe(200);

    const elsewhere = await browser.newPage();
    await elsewhere.goto(other.origin);
    expect(await elsewhere.evaluate(firstEvent, `${api}/api/stream?token=T`)).toBe('error');
    const blocked = await elsewhere.evaluate(
      (url) =>
        fetch(url, { headers: { authorization: 'Bearer T' } }).then(
          () => 'read',
          () => 'blocked',
        ),
      `${api}/api/snapshot`,
    );
    expect(blocked).toBe('blocked');
    await Promise.all([page.close(), elsewhere.close()]);
  });
});
