import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPrice } from '../../client/format.ts';
import { readFeed } from '../../src/source/feed-file.ts';
import { BUNDLED_FEED } from '../../src/source/options.ts';
import { startWithFrames, waitFor } from '../helpers.ts';
import { ARTIFACTS, buildBundles, launchChromium } from '../browser.ts';

// The bundled day's first two hours and a half: enough 5m bars for a chart worth looking at.
const frames = readFeed(BUNDLED_FEED).slice(0, 300);

describe('intraday data on the demo page in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    await buildBundles();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows day ranges, sparklines with their labels, and a live candle chart on click', async () => {
    const { running, frames$ } = await startWithFrames({ hub: { barDays: 5 } });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      for (const f of frames.slice(0, 299)) frames$.next(f);
      await page.goto(`http://127.0.0.1:${running.server.port}/`);
      await waitFor(async () => (await page.locator('#quotes tbody tr').count()) === 34, 'a 34-row table');

      const airlink = running.hub.snapshot((s) => s === 'AIRLINK')[0]!;
      const range = page.locator('#quotes tr[data-symbol="AIRLINK"] td.range');
      expect(await range.getAttribute('aria-label')).toBe(
        `Day range ${formatPrice(airlink.low!)} to ${formatPrice(airlink.high!)}, now ${formatPrice(airlink.price)}`,
      );

      const closes = running.hub
        .queryBars({ interval: '5m', symbol: (s) => s === 'AIRLINK' })
        .map((b) => b.close);
      const spark = page.locator('.tape tick-tape ul.items:not(.copy) li[data-symbol="AIRLINK"] svg.spark');
      const label = `AIRLINK today: ${formatPrice(Math.min(...closes))} to ${formatPrice(Math.max(...closes))}`;
      await waitFor(
        async () => (await spark.getAttribute('aria-label')) === label,
        `the sparkline labelled "${label}"`,
      );
      expect(await spark.locator('polyline').getAttribute('points')).toMatch(/^(\d+\.\d,\d+\.\d ?){2,}$/);

      await page.locator('#quotes tr[data-symbol="AIRLINK"] .sym-button').click();
      await waitFor(async () => (await page.locator('#chart canvas').count()) > 0, 'the chart canvas');
      expect(await page.locator('#chart-title').textContent()).toBe('AIRLINK today (5m, PKT)');
      // The chart stays live: a new frame reaches the page, then the picture is taken.
      frames$.next(frames[299]!);
      const now = formatPrice(running.hub.snapshot((s) => s === 'AIRLINK')[0]!.price);
      const cell = page.locator('#quotes tr[data-symbol="AIRLINK"] td:nth-child(2)');
      await waitFor(async () => (await cell.textContent()) === now, 'the last frame on the page');
      await page.mouse.move(0, 0);
      await page.screenshot({ path: `${ARTIFACTS}/intraday-chart.png` });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await running.close();
    }
  }, 60_000);
});
