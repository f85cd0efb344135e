import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { dayColumn, readTailOptions, tailCommand } from '../../src/commands/tail.ts';
import { validateRequest } from '../../src/transport/requests.ts';
import { SYMBOL_TABLE } from '../protocol/symbol-table.ts';
import type { Bar, Quote } from '../../src/protocol/messages.ts';
import { fixtureFrames, repoPath, startWithFrames, waitFor } from '../helpers.ts';

const [first, second] = fixtureFrames('two-frames.txt');

describe('tickstream tail', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('prints whole quotes as NDJSON, then each change, and exits 0 on SIGTERM', async () => {
    const { running, frames$ } = await startWithFrames();
    cleanup.push(() => running.close());
    frames$.next(first!);
    const child = spawn(
      repoPath('node_modules/.bin/tsx'),
      [repoPath('src/cli.ts'), 'tail', '--json', '--url', running.server.url, '--symbols', 'AIRLINK,HBL'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanup.push(() => child.exitCode === null && child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const quotes = () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; symbol?: string; price?: number; v?: number })
        .filter((m) => m.type === 'quote');

    await waitFor(() => quotes().length === 2, 'the two subscribed quotes', 15_000);
    expect(quotes().map((q) => [q.symbol, q.price])).toEqual([
      ['AIRLINK', 80.6],
      ['HBL', 117.85],
    ]);
    frames$.next(second!);
    await waitFor(() => quotes().length === 4, 'the two changes');
    expect(quotes()[2]).toEqual({
      type: 'quote',
      symbol: 'AIRLINK',
      kind: 'stock',
      price: 81.1,
      change: 1.69,
      changePercent: 2.13,
      direction: 'up',
      open: 80.6,
      high: 81.1,
      low: 80.6,
      prevClose: 79.41,
      v: 2,
      ts: '2023-11-09T04:31:30.000Z',
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('rejects a bad --symbols list or --url before connecting', async () => {
    await expect(tailCommand(['--symbols', 'A B!'])).rejects.toThrow(
      '--symbols: "B!" is not a symbol like AIRLINK or a prefix pattern like OGDC*: "!" is not allowed (capitals, digits, . and -)',
    );
    await expect(tailCommand(['--url', 'ftp://x'])).rejects.toMatchObject({ code: 'bad_usage' });
  });
});

describe('tail --symbols', () => {
  it.each(SYMBOL_TABLE)('takes %j exactly when the server does', (input) => {
    const server = validateRequest({ op: 'subscribe', channel: 'quotes', symbols: [input] });
    const tail = () => readTailOptions([`--symbols=${input}`]);
    if (server.ok) expect(tail().symbols).toEqual([input]);
    else expect(tail).toThrow(expect.objectContaining({ code: 'bad_usage' }));
  });
});

describe('tail --bars', () => {
  const bar = (start: string, close: number): Bar => ({
    symbol: 'AIRLINK',
    interval: '5m',
    start,
    open: close,
    high: close,
    low: close,
    close,
    updates: 1,
    closed: true,
  });
  const quote = { symbol: 'AIRLINK', low: 80.53, high: 81.38 } as Quote;

  it("shows the day's range and its bars' closes as blocks, the earlier day's bars left out", () => {
    const bars = [
      bar('2023-11-08T10:00:00.000Z', 99),
      bar('2023-11-09T04:30:00.000Z', 80.6),
      bar('2023-11-09T04:35:00.000Z', 81.38),
      bar('2023-11-09T04:40:00.000Z', 80.99),
    ];
    expect(dayColumn(quote, bars)).toBe('80.53–81.38 ▁█▅');
    expect(dayColumn(quote, [])).toBe('80.53–81.38');
  });

  it('refuses an interval it does not know', async () => {
    await expect(tailCommand(['--bars', '2m'])).rejects.toThrow(
      '--bars must be 1m, 5m, 15m, 1h or 1d, got "2m"',
    );
  });
});
