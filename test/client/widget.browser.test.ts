import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../net.ts';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixtureFrames, startWithFrames, waitFor } from '../helpers.ts';
import { ARTIFACTS, buildBundles, launchChromium } from '../browser.ts';
import { validateRequest } from '../../src/transport/requests.ts';
import { SYMBOL_TABLE } from '../protocol/symbol-table.ts';

const [first, second] = fixtureFrames('two-frames.txt');

/** The main tape on the demo page (the embed card holds a second, filtered one). */
const TAPE = '.tape tick-tape';

describe('the demo page and <tick-tape> in headless Chromium', () => {
  let browser: Browser;
  const cleanup: (() => unknown)[] = [];

  beforeAll(async () => {
    await buildBundles();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  const start = async (overrides: Parameters<typeof startWithFrames>[0] = {}) => {
    const started = await startWithFrames(overrides);
    cleanup.push(() => started.running.close());
    return started;
  };
  const openPage = async (options: { reducedMotion?: 'reduce' } = {}) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    cleanup.push(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    if (options.reducedMotion) await page.emulateMedia({ reducedMotion: options.reducedMotion });
    return { page, errors };
  };
  const text = (page: Page, selector: string) => page.locator(selector).first().textContent();

  it('shows all 34 symbols, then the next frame changes and flashes a value', async () => {
    const { running, frames$ } = await start();
    frames$.next(first!);
    const { page, errors } = await openPage();
    await page.goto(`http://127.0.0.1:${running.server.port}/`);

    await waitFor(async () => (await page.locator('#quotes tbody tr').count()) === 34, 'a 34-row table');
    await waitFor(
      async () => (await page.locator(`${TAPE} ul.items:not(.copy) li.item`).count()) === 34,
      '34 quotes on the tape',
    );
    expect(await text(page, `${TAPE} li[data-symbol="AIRLINK"] .price`)).toBe('80.60');
    expect(await text(page, '#conn')).toBe('Connected');
    // The embed snippet names the versioned script with its integrity hash (which the page's
    // own tag carries too: the tapes above ran only because Chromium accepted that hash).
    expect(await text(page, '#snippet')).toMatch(
      /^<script src="http:\/\/127\.0\.0\.1:\d+\/widget\.js\?v=[\w-]{16}" integrity="sha384-[\w+/]+=*" crossorigin="anonymous" defer><\/script>\n<tick-tape /,
    );
    await waitFor(
      async () => (await text(page, `${TAPE} .headline`))?.includes('SEOUL:'),
      'the headline line',
    );

    frames$.next(second!);
    await waitFor(
      async () => (await text(page, '#quotes tr[data-symbol="AIRLINK"] td:nth-child(2)')) === '81.10',
      'the table to show the new AIRLINK price',
    );
    const tapePrice = page.locator(`${TAPE} ul.items:not(.copy) li[data-symbol="AIRLINK"] .price`);
    await waitFor(async () => (await tapePrice.textContent()) === '81.10', 'the tape to show the new price');
    expect(await tapePrice.getAttribute('class')).toContain('flash-up');
    expect(await page.locator('#quotes tr[data-symbol="AIRLINK"]').getAttribute('class')).toContain(
      'flash-up',
    );
    expect(await text(page, `${TAPE} li[data-symbol="AIRLINK"] .chg`)).toBe('+1.69');

    // The table sorts by a clicked column, largest change first.
    await page.locator('#quotes th[data-key="changePercent"] button').click();
    expect(await page.locator('#quotes th[data-key="changePercent"]').getAttribute('aria-sort')).toBe(
      'descending',
    );
    expect(await text(page, '#quotes tbody tr:first-child td:first-child')).toBe('FFBL');
    expect(await text(page, '#quotes tbody tr:last-child td:first-child')).toBe('WTL');

    // It scrolls, pauses on the visible control, and says so to assistive technology.
    const track = page.locator(`${TAPE} .track`);
    expect(await track.evaluate((n) => getComputedStyle(n).animationName)).toBe('tt-scroll');
    const pause = page.locator(`${TAPE} button.pause`);
    await pause.click();
    expect(await pause.getAttribute('aria-pressed')).toBe('true');
    // A toggle keeps its name: "Play ticker, pressed" would announce the opposite of paused.
    const pressed = page.locator(TAPE).getByRole('button', { name: 'Pause ticker', pressed: true });
    expect(await pressed.count()).toBe(1);
    expect(await track.evaluate((n) => getComputedStyle(n).animationPlayState)).toBe('paused');

    await page.mouse.move(0, 0);
    await page.screenshot({ path: `${ARTIFACTS}/demo.png`, fullPage: true });
    expect(errors).toEqual([]);
  });

  it('shows a static row without scrolling or a pause control when motion is reduced', async () => {
    const { running, frames$ } = await start();
    frames$.next(first!);
    const { page, errors } = await openPage({ reducedMotion: 'reduce' });
    await page.goto(`http://127.0.0.1:${running.server.port}/`);
    await waitFor(
      async () => (await page.locator(`${TAPE} ul.items:not(.copy) li.item`).count()) === 34,
      '34 quotes on the tape',
    );
    const track = page.locator(`${TAPE} .track`);
    expect(await track.evaluate((n) => getComputedStyle(n).animationName)).toBe('none');
    expect(await page.locator(`${TAPE} ul.copy`).isVisible()).toBe(false);
    expect(await page.locator(`${TAPE} button.pause`).isVisible()).toBe(false);
    await page.screenshot({ path: `${ARTIFACTS}/demo-reduced-motion.png` });
    expect(errors).toEqual([]);
  });

  it('reconnects after the server restarts and shows the new state', async () => {
    const a = await startWithFrames();
    a.frames$.next(first!);
    const port = a.running.server.port;
    const { page, errors } = await openPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await waitFor(async () => (await page.locator('#quotes tbody tr').count()) === 34, 'a 34-row table');

    await a.running.close();
    await waitFor(async () => (await text(page, '#conn')) === 'Reconnecting…', 'the page to see the drop');
    await waitFor(async () => (await text(page, `${TAPE} .status .label`)) === 'Reconnecting…', 'the tape');

    const b = await start({ transport: { port } });
    b.frames$.next({ text: 'AIRLINK 90.00 Increased By ▲ 10.59 (13.3%)', origin: 'test' });
    await waitFor(
      async () => (await text(page, '#quotes tr[data-symbol="AIRLINK"] td:nth-child(2)')) === '90.00',
      'the restarted server’s price in the table',
      10_000,
    );
    // A new epoch: the page replaced its state instead of keeping 33 quotes the server no longer has.
    expect(await page.locator('#quotes tbody tr').count()).toBe(1);
    await waitFor(
      async () => (await text(page, `${TAPE} li[data-symbol="AIRLINK"] .price`)) === '90.00',
      'tape',
    );
    expect(await text(page, '#conn')).toBe('Connected');
    expect(errors).toEqual([]);
  });

  it('shows a bad attribute and an unreachable server as a message in the tape', async () => {
    const { running } = await start();
    const closedPort = await freePort();
    const origin = `http://127.0.0.1:${running.server.port}`;
    const { page, errors } = await openPage();
    // A host page of someone else's, served on the server's origin so Chromium lets it load the script.
    await page.route(`${origin}/host.html`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<p>host page</p><script src="${origin}/widget.js"></script>
          <tick-tape id="a" src="ws://127.0.0.1:${closedPort}/ws" theme="purple"></tick-tape>
          <tick-tape id="b" src="ftp://example"></tick-tape>
          ${SYMBOL_TABLE.map(
            ([input], i) =>
              `<tick-tape id="t${i}" src="ws://127.0.0.1:${closedPort}/ws" symbols="${input}"></tick-tape>`,
          ).join('')}`,
      }),
    );
    await page.goto(`${origin}/host.html`);
    await waitFor(
      async () => (await text(page, '#a .message'))?.includes('Cannot reach'),
      'the offline message',
    );
    expect(await text(page, '#a .message')).toContain('theme "purple" is not light or dark');
    expect(await text(page, '#a .status .label')).toBe('Offline');
    expect(await text(page, '#b .message')).toContain('must start with ws://');
    expect(await page.locator('#b .message').isVisible()).toBe(true);
    // The symbols attribute takes what the server takes and refuses what it refuses.
    for (const [i, [input]] of SYMBOL_TABLE.entries()) {
      await waitFor(async () => (await text(page, `#t${i} .message`))?.includes('Cannot reach'), input);
      const refused = !validateRequest({ op: 'subscribe', channel: 'quotes', symbols: [input] }).ok;
      expect([input, (await text(page, `#t${i} .message`))?.includes('symbols: ')]).toEqual([input, refused]);
    }
    expect(await text(page, 'p')).toBe('host page');
    expect(errors).toEqual([]);
  });

  it('formats for its locale (ur-PK right to left), takes page styles, and tells the page by DOM events', async () => {
    // Bars kept, for the sparkline's label.
    const { running, frames$ } = await start({ hub: { barDays: 5 } });
    frames$.next(first!);
    const origin = `http://127.0.0.1:${running.server.port}`;
    const { page, errors } = await openPage();
    // A deadline for a hang that names the step, under the test's own: a loaded machine (the
    // whole suite on two cores) has taken more than 5 s to load this page.
    page.setDefaultTimeout(20_000);
    // On the server's own page (Chromium blocks a routed page from reaching 127.0.0.1): tapes in
    // three locales, page styles, and listeners set before the tapes connect.
    await page.goto(`${origin}/`);
    await page.evaluate(() => {
      const w = window as unknown as { seen: unknown[] };
      w.seen = [];
      for (const type of ['tick-tape:state', 'tick-tape:quote'] as const)
        document.addEventListener(type, (e) =>
          w.seen.push({ type, id: (e.target as Element).id, detail: (e as CustomEvent).detail }),
        );
      const style = document.createElement('style');
      style.textContent = '#ur { --tt-up: rgb(1, 2, 3); } tick-tape::part(price) { font-weight: 700; }';
      document.head.append(style);
      const tapes = document.createElement('div');
      document.body.append(tapes);
      tapes.innerHTML = `
        <tick-tape id="ur" locale="ur-PK" symbols="AIRLINK,KSE100" theme="dark"></tick-tape>
        <tick-tape id="de" locale="de-DE" symbols="KSE*" sparkline></tick-tape>
        <tick-tape id="bad" locale="not a locale!" symbols="HBL"></tick-tape>`;
    });
    const price = (id: string, symbol: string) =>
      text(page, `#${id} ul.items:not(.copy) li[data-symbol="${symbol}"] .price`);
    await waitFor(async () => (await price('de', 'KSE100')) && (await price('ur', 'AIRLINK')), 'both tapes');

    // de-DE groups with dots and marks decimals with a comma; ur-PK writes what Intl says it does.
    expect(await price('de', 'KSE100')).toMatch(/^\d{1,3}(\.\d{3})*,\d{2}$/);
    // So does the sparkline's label, which a screen reader reads out.
    const spark = page.locator('#de ul.items:not(.copy) li[data-symbol="KSE100"] svg.spark');
    const german = /^KSE100 today: \d{1,3}(\.\d{3})*,\d{2} to \d{1,3}(\.\d{3})*,\d{2}$/;
    await waitFor(async () => german.test((await spark.getAttribute('aria-label')) ?? ''), 'a de-DE label');
    const urPrice = await page.evaluate(() =>
      new Intl.NumberFormat('ur-PK', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(80.6),
    );
    expect(await price('ur', 'AIRLINK')).toBe(urPrice);
    // Right to left: the first symbol sits at the right, and the tape would scroll the other way.
    expect(await page.locator('#ur .root').getAttribute('dir')).toBe('rtl');
    expect(await page.locator('#de .root').getAttribute('dir')).toBe('ltr');
    const x = async (symbol: string) =>
      (await page.locator(`#ur ul.items:not(.copy) li[data-symbol="${symbol}"]`).boundingBox())!.x;
    expect(await x('AIRLINK')).toBeGreaterThan(await x('KSE100'));
    expect(await text(page, '#bad .message')).toContain('locale "not a locale!" is not a language tag');
    // A prefix pattern, as the server reads it: every KSE symbol, in tape order.
    await waitFor(async () => (await page.locator('#de ul.items:not(.copy) li').count()) === 2, 'KSE*');
    expect(
      await page
        .locator('#de ul.items:not(.copy) li')
        .evaluateAll((lis) => lis.map((li) => li.dataset.symbol)),
    ).toEqual(['KSE100', 'KSE30']);

    // The page's own rules win over the theme's custom properties, and ::part reaches inside.
    const style = (selector: string, property: string) =>
      page
        .locator(selector)
        .first()
        .evaluate((n, p) => getComputedStyle(n).getPropertyValue(p), property);
    expect(await style('#ur li[data-symbol="AIRLINK"] .arrow', 'color')).toBe('rgb(1, 2, 3)');
    expect(await style('#de li[data-symbol="KSE100"] .price', 'font-weight')).toBe('700');
    expect(await page.locator('#ur li[data-symbol="AIRLINK"]').first().getAttribute('part')).toBe('item up');

    frames$.next(second!);
    type Seen = {
      type: string;
      id: string;
      detail: Record<string, unknown> & { quote?: { symbol: string; price: number } };
    };
    const seen = () => page.evaluate(() => (window as unknown as { seen: Seen[] }).seen);
    await waitFor(
      async () =>
        (await seen()).some((e) => e.type === 'tick-tape:quote' && e.detail.quote?.symbol === 'AIRLINK'),
      'a tick-tape:quote event',
    );
    const events = await seen();
    const quote = events.find((e) => e.type === 'tick-tape:quote' && e.id === 'ur')!;
    expect(quote.detail).toMatchObject({
      quote: { symbol: 'AIRLINK', price: 81.1 },
      changed: expect.arrayContaining(['price']),
    });
    const states = events
      .filter((e) => e.type === 'tick-tape:state' && e.id === 'de')
      .map((e) => e.detail.connection);
    expect(states.slice(0, 2)).toEqual(['connecting', 'open']);
    await page.locator('#ur').screenshot({ path: `${ARTIFACTS}/tick-tape-ur-PK.png` });
    expect(errors).toEqual([]);
  });

  it('shows why the server refused it, and connects with a token from getToken', async () => {
    const { running, frames$ } = await start({
      transport: { security: { allowOrigins: [], authToken: 'ticker-token' } },
    });
    frames$.next(first!);
    const origin = `http://127.0.0.1:${running.server.port}`;
    // The host page comes from a server of its own (page.route would break the page's WebSockets).
    const host = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<script src="${origin}/widget.js"></script>
        <tick-tape id="a"></tick-tape><tick-tape id="b"></tick-tape>
        <script>document.getElementById('b').getToken = async () => 'ticker-token';</script>`),
    );
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => host.close(resolve)));
    const { page, errors } = await openPage();
    await page.goto(`http://127.0.0.1:${(host.address() as AddressInfo).port}/`);
    await waitFor(
      async () => (await text(page, '#a .message'))?.includes('Refused by the server'),
      'the refusal in the tape',
    );
    expect(await text(page, '#a .message')).toBe(
      'Refused by the server: a token is required (?token= or Authorization: Bearer)',
    );
    expect(await text(page, '#a .status .label')).toBe('Refused');
    await waitFor(
      async () => (await page.locator('#b ul.items:not(.copy) li.item').count()) === 34,
      'the tape with a token to show the quotes',
    );
    expect(await text(page, '#b .status .label')).toBe('Live');
    expect(errors).toEqual([]);
  });
});
