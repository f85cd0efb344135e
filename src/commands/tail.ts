import WebSocket from 'ws';
import { connect, type Quote, type TickstreamClient } from '../../client/index.ts';
import {
  arrow,
  formatChange,
  formatPercent,
  formatPrice,
  formatTime,
  priceMove,
  selectQuotes,
} from '../../client/format.ts';
import { serverUrl } from '../../client/server-url.ts';
import { TickstreamError } from '../errors.ts';
import { parseFlags, str } from '../options.ts';
import { isBarInterval } from '../bars/intervals.ts';
import { dayCloses } from '../../client/widget/sparkline.ts';
import { INTERVAL_LIST, readSymbolList, type Bar, type BarInterval } from '../protocol/messages.ts';

/** `tail --help` lines. */
export const tailHelp = `  --url URL          server WebSocket URL (default ws://127.0.0.1:PORT/ws, PORT from TICKSTREAM_PORT, PORT or 8080)
  --symbols A,OGDC*  only these symbols and prefix patterns, in this order (default: all)
  --json             NDJSON instead of a table: whole quotes as they change, headlines, status
  --bars INTERVAL    add a column with the day's range and its bars' closes (1m … 1d)`;

const FLASH_MS = 1000;
const REDRAW_MS = 100;

const ansi = (color: boolean) => {
  const wrap = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return {
    green: wrap('32'),
    red: wrap('31'),
    dim: wrap('2'),
    bold: wrap('1'),
    yellow: wrap('33'),
    inverse: wrap('7'),
  };
};

const BLOCKS = '▁▂▃▄▅▆▇█';
/** How many of the latest bars the column draws. */
const COLUMN_BARS = 12;

/**
 * The day column: the day's low–high from the quote, then the latest bars' closes of the day
 * as block characters (`80.53–81.38 ▁▃▅▇█`).
 */
export const dayColumn = (q: Quote, bars: readonly Bar[]): string => {
  const range =
    q.low === undefined || q.high === undefined ? '' : `${formatPrice(q.low)}–${formatPrice(q.high)}`;
  const closes = dayCloses(bars).slice(-COLUMN_BARS);
  if (closes.length === 0) return range;
  const low = Math.min(...closes);
  const span = Math.max(...closes) - low;
  const blocks = closes.map((v) => BLOCKS[span === 0 ? 3 : Math.round(((v - low) / span) * 7)]).join('');
  return `${range} ${blocks}`;
};

/** The table as lines: a status header, one row per quote (changed rows highlighted), the latest headline. */
const renderTable = (
  client: TickstreamClient,
  quotes: Quote[],
  flashing: ReadonlyMap<string, number>,
  {
    color,
    width,
    height,
    note,
    bars,
  }: { color: boolean; width: number; height: number; note?: string; bars?: BarInterval },
): string[] => {
  const c = ansi(color);
  const status = client.status;
  const state =
    client.state === 'open'
      ? c.green('● live')
      : client.state === 'connecting'
        ? c.dim('○ connecting')
        : c.yellow(`● ${client.state}`);
  const lines = [
    `${c.bold('tickstream')}  ${client.url}  ${state}` +
      (status ? `  market ${status.market}  feed ${status.state}` : '') +
      (client.position ? c.dim(`  seq ${client.position.seq}`) : ''),
    c.dim(
      `${'SYMBOL'.padEnd(9)}${'PRICE'.padStart(12)}${'CHANGE'.padStart(12)}${'%'.padStart(9)}  TIME (PKT)` +
        (bars ? `  DAY (${bars})` : ''),
    ),
  ];
  const room = Math.max(1, height - lines.length - 2);
  for (const q of quotes.slice(0, room)) {
    const paint = q.direction === 'up' ? c.green : q.direction === 'down' ? c.red : c.dim;
    const row =
      `${q.symbol.padEnd(9)}${formatPrice(q.price).padStart(12)}` +
      paint(
        `${`${arrow(q.direction)} ${formatChange(q.change)}`.padStart(12)}${formatPercent(q.changePercent).padStart(9)}`,
      ) +
      c.dim(`  ${formatTime(q.ts)}`) +
      (bars ? `  ${dayColumn(q, client.candles.bars(bars, q.symbol))}` : '');
    lines.push(flashing.has(q.symbol) ? c.inverse(row) : row);
  }
  if (quotes.length > room)
    lines.push(c.dim(`… ${quotes.length - room} more; widen or heighten the terminal`));
  if (quotes.length === 0) lines.push(c.dim(client.state === 'open' ? 'waiting for quotes…' : 'no data yet'));
  if (note && client.state !== 'open') lines.push(c.yellow(note));
  const headline = client.headlines.at(-1);
  if (headline) {
    const tag = headline.dateline || 'NEWS';
    lines.push('', `${c.bold(tag)} ${headline.title.slice(0, Math.max(0, width - tag.length - 1))}`);
  }
  return lines;
};

/** Tail's flags, checked before connecting: a bad one is a usage error that says what to fix. */
export const readTailOptions = (args: string[]) => {
  const { values } = parseFlags(args, {
    url: { type: 'string' },
    symbols: { type: 'string' },
    json: { type: 'boolean' },
    bars: { type: 'string' },
  });
  // The port serve listens on when started in the same environment.
  const port = process.env.TICKSTREAM_PORT || process.env.PORT || 8080;
  const resolved = serverUrl(str(values, 'url') ?? null, `ws://127.0.0.1:${port}/ws`);
  if ('error' in resolved) throw new TickstreamError('bad_usage', `--url: ${resolved.error}`);
  const listed = str(values, 'symbols');
  const read = listed === undefined ? undefined : readSymbolList(listed);
  if (read?.problems.length) throw new TickstreamError('bad_usage', `--symbols: ${read.problems.join('; ')}`);
  const bars = values.bars;
  if (bars !== undefined && !isBarInterval(bars))
    throw new TickstreamError('bad_usage', `--bars must be ${INTERVAL_LIST}, got "${bars}"`);
  return { url: resolved.url, symbols: read?.symbols, json: values.json === true, bars };
};

/** NDJSON, one line per quote, headline, status and state change; errors go to stderr. */
const printJson = (client: TickstreamClient, out: NodeJS.WriteStream) => {
  const write = (line: object) => out.write(`${JSON.stringify(line)}\n`);
  client.on('state', ({ newState }) => write({ type: 'state', state: newState }));
  client.on('snapshot', ({ channel }) => {
    if (channel === 'quotes') for (const q of client.quotes.all()) write({ type: 'quote', ...q });
  });
  client.on('resync', ({ epoch }) => write({ type: 'resync', epoch }));
  client.on('quote', ({ quote }) => write({ type: 'quote', ...quote }));
  client.on('headline', (h) => write({ type: 'headline', ...h }));
  client.on('status', (s) => write(s));
  client.on('error', ({ code, message }) => process.stderr.write(`tickstream tail: ${code}: ${message}\n`));
};

/** The quote table, redrawn in place on a terminal (a frame a second to a pipe); returns its stop. */
const drawTable = (
  client: TickstreamClient,
  out: NodeJS.WriteStream,
  symbols: readonly string[] | undefined,
  bars: BarInterval | undefined,
): (() => void) => {
  const tty = out.isTTY === true;
  const color = tty && !process.env.NO_COLOR;
  const flashing = new Map<string, number>();
  let note: string | undefined;
  client.on('error', ({ code, message }) => {
    note = `${code}: ${message}`;
    schedule();
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const draw = () => {
    timer = undefined;
    const now = Date.now();
    for (const [s, until] of flashing) if (until <= now) flashing.delete(s);
    const quotes = selectQuotes(client.quotes.all(), symbols);
    const lines = renderTable(client, quotes, flashing, {
      color,
      width: out.columns ?? 100,
      height: tty ? (out.rows ?? 40) : Infinity,
      note,
      ...(bars && { bars }),
    });
    // Home, each line cleared to its end, then the rest of the screen: no flicker, no scrollback.
    out.write(tty ? `\x1b[H${lines.map((l) => `${l}\x1b[K`).join('\n')}\n\x1b[J` : `${lines.join('\n')}\n\n`);
    if (flashing.size) schedule(Math.min(...flashing.values()) - now);
  };
  const schedule = (delay = REDRAW_MS) => {
    if (!timer) timer = setTimeout(draw, Math.max(delay, tty ? REDRAW_MS : 1000));
  };
  client.on('quote', ({ quote, previous }) => {
    if (priceMove(previous, quote) !== 'unchanged') flashing.set(quote.symbol, Date.now() + FLASH_MS);
    schedule();
  });
  for (const type of ['state', 'status', 'snapshot', 'resync', 'headline', 'candle'] as const)
    client.on(type, () => schedule());
  // The alternate screen keeps the user's scrollback as it was once tail exits.
  if (tty) out.write('\x1b[?1049h\x1b[?25l');
  return () => {
    clearTimeout(timer);
    if (tty) out.write('\x1b[?25h\x1b[?1049l');
  };
};

/** `tickstream tail`: a live quote table in the terminal, redrawn in place, or NDJSON with --json. */
export const tailCommand = async (args: string[]) => {
  const { url, symbols, bars, json } = readTailOptions(args);
  const out = process.stdout;
  const client = connect(url, { WebSocket });
  let stopDrawing = () => {};
  if (json) printJson(client, out);
  else stopDrawing = drawTable(client, out, symbols, bars);
  const stop = () => {
    client.close();
    stopDrawing();
  };

  client.subscribe('quotes', symbols);
  client.subscribe('headlines');
  if (bars && !json) client.subscribe('candles', symbols, { interval: bars });
  await new Promise<void>((resolve, reject) => {
    const end = () => {
      stop();
      resolve();
    };
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
    // A closed pipe (`tail --json | head`) ends tail quietly.
    out.on('error', end);
    // The client stops trying after a refusal: say why and fail, rather than end as if done.
    client.on('state', ({ newState }) => {
      if (newState !== 'failed') return;
      stop();
      reject(new TickstreamError('refused', `the server refused tail: ${client.refusal}`));
    });
  });
};
