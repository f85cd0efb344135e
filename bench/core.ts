/**
 * `npm run bench:core [-- --symbols N --frames N --budget S]`: drives generated ticker pages
 * (1,000 symbols × 1,000 frames by default, about a fifth of the symbols moving per frame)
 * through parse → diff → hub, then through parse → diff → bars → hub (what the bars stage and
 * its bars events cost per frame), then the same frames through parse → a naive diff (re-diff every
 * symbol with object spreads and a JSON.stringify compare) → the same hub, in one process,
 * then parse alone. Prints events per CPU second and heap growth for both, and both again with
 * the parse CPU taken out. Each run stops after `--budget` seconds (default 45) and says how
 * many frames it got through, so the whole bench takes at most about three budgets. Exits 1
 * if the two disagree on the events.
 */
import { parseArgs } from 'node:util';
import { defer, from, lastValueFrom, mergeMap, takeWhile, count, type OperatorFunction } from 'rxjs';
import type { Change } from '../src/diff/changes.ts';
import { Hub, publishTo } from '../src/hub/hub.ts';
import { num } from '../src/options.ts';
import { feedChanges, frameEvents } from '../src/pipeline.ts';
import { withBars } from '../src/bars/bars-stage.ts';
import type { LineValues, QuoteValues } from '../src/protocol/messages.ts';
import type { Frame } from '../src/source/frame.ts';
import { formatQuoteLine } from './parse-feed.ts';

const { values } = parseArgs({
  options: { symbols: { type: 'string' }, frames: { type: 'string' }, budget: { type: 'string' } },
  strict: true,
});
const symbolCount = num(values, 'symbols', 1000, { min: 1, max: 100_000 });
const frameCount = num(values, 'frames', 1000, { min: 1, max: 100_000 });
const budgetMs = num(values, 'budget', 45, { min: 1, max: 600 }) * 1000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc)
  process.stderr.write('note: run with node --expose-gc (npm run bench:core does) for exact heap figures\n');

/** A small seeded PRNG, so every run and both variants see the same frames. */
const random = (() => {
  let seed = 0x5eed;
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
})();

const makeFrames = (): Frame[] => {
  const symbols = Array.from({ length: symbolCount }, (_, i) => `S${String(i).padStart(5, '0')}`);
  const close = symbols.map(() => 1000 + Math.floor(random() * 99_000));
  const price = [...close];
  const start = Date.parse('2023-11-09T04:30:00.000Z');
  return Array.from({ length: frameCount }, (_, k) => {
    for (let i = 0; i < symbolCount; i++)
      if (random() < 0.2) price[i] = Math.max(1, price[i]! + Math.round((random() - 0.5) * 10));
    const lines = symbols.map((symbol, i) => {
      const changeUnits = price[i]! - close[i]!;
      const direction = changeUnits > 0 ? 'up' : changeUnits < 0 ? 'down' : 'unchanged';
      return formatQuoteLine({
        symbol,
        kind: 'stock',
        priceUnits: price[i]!,
        changeUnits,
        scale: 2,
        direction,
      });
    });
    // A story that stays on the page for 100 frames: dedupe sees it again and again.
    const story = `KARACHI: Story number ${Math.floor(k / 100)} says that the market moved today.`;
    return {
      text: `${lines.join('\n')}\n\n${story}\n`,
      capturedAt: new Date(start + k * 1000),
      origin: `bench:${k}`,
    };
  });
};

const QUOTE_KEYS = ['kind', 'price', 'change', 'changePercent', 'direction'] as const;

/** The baseline: every frame rebuilds the whole state with spreads and compares every symbol. */
const naiveChanges: OperatorFunction<Frame, Change> = (frames$) =>
  defer(() => {
    let state: Record<string, LineValues> = {};
    const seen = new Set<string>();
    return frames$.pipe(
      mergeMap((frame) => {
        const events = frameEvents(frame);
        const next: Record<string, LineValues> = { ...state };
        const ts: Record<string, string> = {};
        const out: Change[] = [];
        for (const e of events) {
          if (e.type === 'quote') {
            const { kind, price, change, changePercent, direction } = e;
            next[e.symbol] = { ...next[e.symbol], kind, price, change, changePercent, direction };
            ts[e.symbol] = e.ts;
          } else if (e.type === 'headline' && !seen.has(e.id)) {
            seen.add(e.id);
            const { type: _t, line: _l, origin: _o, ...headline } = e;
            out.push({ type: 'headline', headline });
          }
        }
        for (const symbol of Object.keys(next)) {
          const before = state[symbol];
          const after = next[symbol]!;
          if (JSON.stringify(before) === JSON.stringify(after)) continue;
          const fields: Partial<QuoteValues> = {};
          for (const k of QUOTE_KEYS) if (before?.[k] !== after[k]) Object.assign(fields, { [k]: after[k] });
          out.push({ type: 'quote', symbol, ts: ts[symbol]!, fields });
        }
        state = next;
        return out;
      }),
    );
  });

interface Result {
  events: number;
  frames: number;
  wallS: number;
  cpuS: number;
  heapMB: number;
}

const measure = async (frames: Frame[], changes: OperatorFunction<Frame, Change>): Promise<Result> => {
  const hub = new Hub({ history: { size: 100_000, ageMs: 3_600_000 }, headlineCount: 50, epoch: 'bench' });
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const deadline = start + budgetMs;
  let framesDone = 0;
  const events = await lastValueFrom(
    from(frames).pipe(
      takeWhile(() => performance.now() < deadline),
      (f$) => f$.pipe(mergeMap((f) => (framesDone++, [f]))),
      changes,
      publishTo(hub),
      count(),
    ),
  );
  const wallS = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  gc?.();
  const heapMB = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
  hub.close();
  return { events, frames: framesDone, wallS, cpuS: (used.user + used.system) / 1e6, heapMB };
};

/** Parse alone, to take it out of both figures: the diff and hub are what differ. */
const parseOnly: OperatorFunction<Frame, Change> = (frames$) =>
  frames$.pipe(mergeMap((frame) => (frameEvents(frame), [])));

const frames = makeFrames();
process.stdout.write(
  `core bench: ${symbolCount} symbols × ${frameCount} frames, budget ${budgetMs / 1000}s a run\n`,
);
const core = await measure(frames, feedChanges());
const barred = await measure(frames, (f$) => f$.pipe(feedChanges(), withBars()));
const naive = await measure(frames, naiveChanges);
const parse = await measure(frames, parseOnly);
const parseCpuPerFrame = parse.cpuS / parse.frames;
const withoutParse = (r: Result) => r.events / (r.cpuS - parseCpuPerFrame * r.frames);

const row = (name: string, r: Result) =>
  `${name.padEnd(28)} ${String(r.frames).padStart(6)} ${String(r.events).padStart(9)} ${r.wallS.toFixed(2).padStart(7)} ${Math.round(
    r.events / r.cpuS,
  )
    .toLocaleString('en-US')
    .padStart(11)} ${r.heapMB.toFixed(1).padStart(8)}`;
process.stdout.write(
  `${'pipeline'.padEnd(28)} ${'frames'.padStart(6)} ${'events'.padStart(9)} ${'wall s'.padStart(7)} ${'events/cpu-s'.padStart(11)} ${'heap +MB'.padStart(8)}\n` +
    `${row('parse → diff → hub', core)}\n${row('parse → diff → bars → hub', barred)}\n` +
    `${row('parse → naive diff → hub', naive)}\n` +
    `${'parse alone'.padEnd(28)} ${String(parse.frames).padStart(6)} ${'-'.padStart(9)} ${parse.wallS.toFixed(2).padStart(7)}\n` +
    `core vs naive: ${(core.events / core.cpuS / (naive.events / naive.cpuS)).toFixed(2)}× events per CPU second; ` +
    `diff → hub alone (parse CPU taken out): ${Math.round(withoutParse(core)).toLocaleString('en-US')} vs ` +
    `${Math.round(withoutParse(naive)).toLocaleString('en-US')} events/s, ${(withoutParse(core) / withoutParse(naive)).toFixed(1)}×\n`,
);
if (core.frames === naive.frames && core.events !== naive.events) {
  process.stderr.write(`the two disagree: core published ${core.events} events, naive ${naive.events}\n`);
  process.exit(1);
}

// The bars stage's share: the CPU it and its bars events add per frame, over the whole
// pipeline's CPU per frame with bars on.
const perFrameMs = (r: Result) => (r.cpuS / r.frames) * 1000;
const barsMs = perFrameMs(barred) - perFrameMs(core);
process.stdout.write(
  `bars stage: ${barsMs.toFixed(3)} ms CPU per frame of ${perFrameMs(barred).toFixed(3)} ms ` +
    `(${((barsMs / perFrameMs(barred)) * 100).toFixed(1)}% of the pipeline; ` +
    `${barred.events - Math.round((core.events / core.frames) * barred.frames)} bars events)\n`,
);
