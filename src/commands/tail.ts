import WebSocket from 'ws';
import { connect, type Quote, type TickstreamClient } from '../../client/index.ts';
import {
  arrow,
  formatChange,
  formatPercent,
  formatPrice,
  formatTime,
  priceMove,
  tapeOrder,
} from '../../client/format.ts';
import { serverUrl } from '../../client/server-url.ts';
import { TickstreamError } from '../errors.ts';
import { parseFlags, str } from '../options.ts';

/** `tail --help` lines. */
export const tailHelp = `  --url URL          server WebSocket URL (default ws://127.0.0.1:$PORT/ws, PORT default 8080)
  --symbols A,B      only these symbols (default: all, now and later)
  --json             NDJSON instead of a table: whole quotes as they change, headlines, status`;

const FLASH_MS = 1000;
const REDRAW_MS = 100;
const SYMBOL = /^[A-Za-z0-9._-]{1,32}$/;

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

/** The table as lines: a status header, one row per quote (changed rows highlighted), the latest headline. */
const renderTable = (
  client: TickstreamClient,
  quotes: Quote[],
  flashing: ReadonlyMap<string, number>,
  { color, width, height, note }: { color: boolean; width: number; height: number; note?: string },
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
      `${'SYMBOL'.padEnd(9)}${'PRICE'.padStart(12)}${'CHANGE'.padStart(12)}${'%'.padStart(9)}  TIME (PKT)`,
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
      c.dim(`  ${formatTime(q.ts)}`);
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

/** `tickstream tail`: a live quote table in the terminal, redrawn in place, or NDJSON with --json. */
export const tailCommand = async (args: string[]) => {
  const { values } = parseFlags(args, {
    url: { type: 'string' },
    symbols: { type: 'string' },
    json: { type: 'boolean' },
  });
  const resolved = serverUrl(str(values, 'url') ?? null, `ws://127.0.0.1:${process.env.PORT ?? 8080}/ws`);
  if ('error' in resolved) throw new TickstreamError('bad_usage', `--url: ${resolved.error}`);
  const symbols = str(values, 'symbols')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = symbols?.filter((s) => !SYMBOL.test(s)) ?? [];
  if (symbols?.length === 0 || bad.length)
    throw new TickstreamError(
      'bad_usage',
      `--symbols must be a comma-separated list of symbols, got "${values.symbols}"`,
    );

  const out = process.stdout;
  const client = connect(resolved.url, { WebSocket });
  const write = (line: object) => out.write(`${JSON.stringify(line)}\n`);
  let stop: () => void = () => client.close();

  if (values.json) {
    client.on('state', ({ newState }) => write({ type: 'state', state: newState }));
    client.on('snapshot', ({ channel }) => {
      if (channel === 'quotes') for (const q of client.quotes.all()) write({ type: 'quote', ...q });
    });
    client.on('resync', ({ epoch }) => write({ type: 'resync', epoch }));
    client.on('quote', ({ quote }) => write({ type: 'quote', ...quote }));
    client.on('headline', (h) => write({ type: 'headline', ...h }));
    client.on('status', (s) => write(s));
  } else {
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
      const quotes = symbols
        ? symbols.map((s) => client.quotes.get(s)).filter((q): q is Quote => q !== undefined)
        : client.quotes.all().sort(tapeOrder);
      const lines = renderTable(client, quotes, flashing, {
        color,
        width: out.columns ?? 100,
        height: tty ? (out.rows ?? 40) : Infinity,
        note,
      });
      // Home, each line cleared to its end, then the rest of the screen: no flicker, no scrollback.
      out.write(
        tty ? `\x1b[H${lines.map((l) => `${l}\x1b[K`).join('\n')}\n\x1b[J` : `${lines.join('\n')}\n\n`,
      );
      if (flashing.size) schedule(Math.min(...flashing.values()) - now);
    };
    const schedule = (delay = REDRAW_MS) => {
      if (!timer) timer = setTimeout(draw, Math.max(delay, tty ? REDRAW_MS : 1000));
    };
    client.on('quote', ({ quote, previous }) => {
      if (priceMove(previous, quote) !== 'unchanged') flashing.set(quote.symbol, Date.now() + FLASH_MS);
      schedule();
    });
    for (const type of ['state', 'status', 'snapshot', 'resync', 'headline'] as const)
      client.on(type, () => schedule());
    // The alternate screen keeps the user's scrollback as it was once tail exits.
    if (tty) out.write('\x1b[?1049h\x1b[?25l');
    stop = () => {
      clearTimeout(timer);
      client.close();
      if (tty) out.write('\x1b[?25h\x1b[?1049l');
    };
  }
  if (values.json)
    client.on('error', ({ code, message }) => process.stderr.write(`tickstream tail: ${code}: ${message}\n`));

  client.subscribe('quotes', symbols);
  client.subscribe('headlines');
  await new Promise<void>((resolve) => {
    const end = () => {
      stop();
      resolve();
    };
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
    // A closed pipe (`tail --json | head`) ends tail quietly.
    out.on('error', end);
  });
};
