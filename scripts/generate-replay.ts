/**
 * Generates the bundled replay: a full PSX trading day (Asia/Karachi 09:30–15:30, Thursday
 * 2023-11-09) grown from the seed capture by a seeded random walk, so the output is the same
 * on every run. Run with `npm run generate:replay`; it writes replay/session.txt.gz.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { parseQuoteLine } from '../src/parse/quote-line.ts';
import type { ParsedQuote } from '../src/parse/events.ts';
import { KARACHI_OFFSET_MS } from '../src/source/time-window.ts';

const SESSION_OPEN = Date.parse('2023-11-09T04:30:00.000Z'); // 09:30 in Karachi (UTC+5)
const SESSION_CLOSE = Date.parse('2023-11-09T10:30:00.000Z'); // 15:30
const CIRCUIT = 0.1;

/** Index members among the seed's stocks; the rest of each real index is not on the ticker. */
export const INDEX_MEMBERS: Record<string, string[]> = {
  KSE100: ['*'],
  BR100: ['*'],
  KSE30: [
    'DGKC',
    'FCCL',
    'FFBL',
    'HBL',
    'HUBC',
    'MLCF',
    'OGDC',
    'PAEL',
    'PPL',
    'PRL',
    'SEARL',
    'SNGP',
    'SSGC',
    'TRG',
    'UNITY',
  ],
  BR30: ['AIRLINK', 'DGKC', 'FFBL', 'HBL', 'HUBC', 'OGDC', 'PPL', 'SNGP', 'TRG', 'UNITY', 'SEARL', 'MLCF'],
};

/** Stories that break during the day, by Karachi time; the seed's SEOUL story shows first. */
const NEWS: { at: string; text: string }[] = [
  {
    at: '10:42',
    text: `KARACHI: The rupee firmed against the US dollar in the interbank market on Thursday as exporters sold dollars ahead of the weekend, currency dealers said.

Dealers said import payments were thinner than earlier in the week, while inflows from remittances kept the market supplied.

The State Bank of Pakistan is due to publish its weekly reserves data later in the day.`,
  },
  {
    at: '11:58',
    text: `ISLAMABAD: The finance ministry said talks with the International Monetary Fund mission on the first review of the standby arrangement were moving ahead, with the energy sector and tax collection at the top of the agenda.

Officials said the two sides had exchanged data on circular debt and the revenue shortfall, and that the mission would meet provincial finance departments next week.

Staff-level agreement on the review would unlock the next tranche of the loan.`,
  },
  {
    at: '13:16',
    text: `KARACHI: Cement and fertiliser shares led the market higher in the morning session as investors bet on a pickup in construction activity and steady urea demand, brokers said.

Analysts said volumes stayed healthy, with buying concentrated in large-cap stocks after last week's rally.

Profit-taking in technology shares limited the gains, they added.`,
  },
  {
    at: '14:37',
    text: `LAHORE: The Punjab government announced a support price for the coming wheat crop and said it would keep flour prices in check through the winter, officials said on Thursday.

Growers' bodies welcomed the announcement but asked for cheaper fertiliser and diesel.

The province accounts for most of the country's wheat output.`,
  },
];

/** mulberry32: a small, fast PRNG whose whole state is one 32-bit number. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

// Built once: constructing a number format per line costs more than the rest of the generator.
const STOCK_PRICE = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const INDEX_PRICE = new Intl.NumberFormat('en-US');

const percentText = (change: number, previous: number): string =>
  String(Number(((change / previous) * 100).toFixed(2)));

/** A stock line the way the site prints it; prices and changes are in paisa (0.01). */
export const stockLine = (symbol: string, paisa: number, previousPaisa: number): string => {
  const price = STOCK_PRICE.format(paisa / 100);
  const change = paisa - previousPaisa;
  if (change === 0) return `${symbol} ${price} No Change ▼ 0.00 (0%)`;
  const pct = percentText(change, previousPaisa);
  const magnitude = (Math.abs(change) / 100).toFixed(2);
  return change > 0
    ? `${symbol} ${price} Increased By ▲ ${magnitude} (${pct}%)`
    : `${symbol} ${price} Decreased By ▼ -${magnitude} (${pct}%)`;
};

/** An index line the way the site prints it: whole points, the change to one decimal. */
export const indexLine = (symbol: string, value: number, previous: number): string => {
  const price = INDEX_PRICE.format(Math.round(value));
  const change = Math.round((value - previous) * 10) / 10;
  if (change === 0) return `${symbol} ${price} No Change 0.0 (0%)`;
  const pct = percentText(change, previous);
  return change > 0
    ? `${symbol} ${price} Increased By ${change.toFixed(1)} (${pct}%)`
    : `${symbol} ${price} Decreased By ${change.toFixed(1)} (${pct}%)`;
};

const karachiTime = (ms: number): string => new Date(ms + KARACHI_OFFSET_MS).toISOString().slice(11, 16);

/** The seed split into its quotes (in order) and the page text after them (story and chrome). */
const readSeed = (seed: string) => {
  const lines = seed.split('\n');
  const quotes: ParsedQuote[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const q = parseQuoteLine(lines[i]!, i + 1);
    if (q?.type !== 'quote') break;
    quotes.push(q);
  }
  const page = lines.slice(i).join('\n').trim();
  const chromeAt = page.lastIndexOf('\n\nComments');
  return { quotes, story: page.slice(0, chromeAt), chrome: page.slice(chromeAt + 2) };
};

/** The whole session as `@@`-framed text: one frame every 15–60 s from 09:30 to 15:30 Karachi. */
export const generateSession = (seedText: string, seed = 20231109): string => {
  const random = prng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const { quotes, story: seedStory, chrome } = readSeed(seedText);
  const stocks = quotes
    .filter((q) => q.kind === 'stock')
    .map((q) => {
      const paisa = Math.round(q.price * 100);
      const previous = paisa - Math.round(q.change * 100);
      return {
        symbol: q.symbol,
        paisa,
        previous,
        low: Math.ceil(previous * (1 - CIRCUIT)),
        high: Math.floor(previous * (1 + CIRCUIT)),
        beta: 0.6 + random() * 0.8,
      };
    });
  // Each index moves by the price-weighted move of its members' percent change since the seed.
  const memberMove = (members: string[]) => {
    const chosen = stocks.filter((s) => members[0] === '*' || members.includes(s.symbol));
    const weight = chosen.reduce((sum, s) => sum + s.previous, 0);
    return chosen.reduce((sum, s) => sum + (s.previous / weight) * ((s.paisa - s.previous) / s.previous), 0);
  };
  const indices = quotes
    .filter((q) => q.kind === 'index')
    .map((q) => ({
      symbol: q.symbol,
      previous: q.price - q.change,
      seedFraction: q.price / (q.price - q.change) - 1,
      members: INDEX_MEMBERS[q.symbol] ?? ['*'],
      startMove: 0,
    }));
  for (const index of indices) index.startMove = memberMove(index.members);

  let story = seedStory;
  const news = [...NEWS];
  const frames: string[] = [];
  let market = 0;
  for (let t = SESSION_OPEN; t <= SESSION_CLOSE; t += (15 + Math.floor(random() * 46)) * 1000) {
    if (frames.length > 0) {
      // A common market move with mean reversion, so the day drifts but does not run away.
      market = 0.9 * market + 0.00015 * normal();
      for (const s of stocks) {
        if (random() > 0.35) continue;
        let ticks = Math.round(s.paisa * (s.beta * market + 0.0008 * normal()));
        if (ticks === 0 && random() < 0.15) ticks = random() < 0.5 ? -1 : 1;
        s.paisa = Math.min(s.high, Math.max(s.low, s.paisa + ticks));
      }
    }
    while (news[0] && karachiTime(t) >= news[0].at) story = news.shift()!.text;
    const lines = [
      ...stocks.map((s) => stockLine(s.symbol, s.paisa, s.previous)),
      ...indices.map((index) => {
        const fraction = index.seedFraction + memberMove(index.members) - index.startMove;
        return indexLine(index.symbol, index.previous * (1 + fraction), index.previous);
      }),
    ];
    frames.push(`@@ ${new Date(t).toISOString()}\n${lines.join('\n')}\n\n${story}\n\n${chrome}\n`);
  }
  return frames.join('');
};

const repo = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = generateSession(readFileSync(repo('replay/seed.txt'), 'utf8'));
  const out = repo('replay/session.txt.gz');
  writeFileSync(out, gzipSync(text, { level: 9 }));
  process.stdout.write(`wrote ${out}: ${text.split('\n@@').length} frames, ${text.length} characters\n`);
}
