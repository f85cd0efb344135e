/**
 * `npm run bench:core [-- --symbols N --frames N --budget S --bars-frames N --bars-repeat N]`:
 * drives generated ticker pages (1,000 symbols × 1,000 frames by default, about a fifth of the
 * symbols moving per frame) through parse → diff → hub, then the same frames through parse → a
 * naive diff (re-diff every symbol with object spreads and a JSON.stringify compare) → the same
 * hub, in one process, then parse alone. Prints events per CPU second and heap growth for both,
 * both again with the parse CPU taken out, and what each cost the collector per 100k events
 * (old space left held, off-heap bytes held, major GCs and their pause time, minor GC pause
 * time), beside the hub alone taking 200 made-up quote changes a frame. Each run stops after
 * `--budget` seconds (default 45) and says how many frames it got through. Then, `--bars-repeat`
 * times (default 8), parse → diff → hub without bars and with them (the hub folding each
 * quote into its bars and stamping their closes) take the first `--bars-frames` frames (default
 * 400) in turn, frame by frame: what the bars cost per frame, as a share of the pipeline, each
 * time and their mean, min and max.
 * Exits 1 if the core and naive runs disagree on the events.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics } from 'node:v8';
import { defer, from, lastValueFrom, mergeMap, takeWhile, Subject, type OperatorFunction } from 'rxjs';
import type { Change } from '../src/diff/changes.ts';
import { DEFAULT_BAR_DAYS, Hub, publishTo } from '../src/hub/hub.ts';
import { num } from '../src/options.ts';
import { feedChanges, frameEvents } from '../src/pipeline.ts';
import type { LineValues, QuoteValues } from '../src/protocol/messages.ts';
import type { Frame } from '../src/source/frame.ts';
import { formatQuoteLine } from './parse-feed.ts';

const { values } = parseArgs({
  options: {
    symbols: { type: 'string' },
    frames: { type: 'string' },
    budget: { type: 'string' },
    'bars-frames': { type: 'string' },
    'bars-repeat': { type: 'string' },
  },
  strict: true,
});
const symbolCount = num(values, 'symbols', 1000, { min: 1, max: 100_000 });
const frameCount = num(values, 'frames', 1000, { min: 1, max: 100_000 });
const budgetMs = num(values, 'budget', 45, { min: 1, max: 600 }) * 1000;
const barsFrames = num(values, 'bars-frames', 400, { min: 1, max: 100_000 });
const barsRepeat = num(values, 'bars-repeat', 8, { min: 1, max: 20 });

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
  /** Old space still used after a full GC at the end, over the start: what the run left held. */
  oldMB: number;
  /** Off-heap (ArrayBuffer) bytes still held at the end. */
  offHeapMB: number;
  majorGcs: number;
  majorGcMs: number;
  minorGcMs: number;
}

// GC entries arrive some milliseconds after the collection; each run reads what came in during it.
const gcSeen = { majorGcs: 0, majorGcMs: 0, minorGcMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
      gcSeen.majorGcs++;
      gcSeen.majorGcMs += e.duration;
    } else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gcSeen.minorGcMs += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
const gcEntriesIn = () => new Promise((resolve) => setTimeout(resolve, 100));
const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;

const measure = async (frames: Frame[], changes: OperatorFunction<Frame, Change>): Promise<Result> => {
  // Bars apart (`barDays: 0`): their share is measured on its own below.
  const hub = new Hub({
    history: { size: 100_000, ageMs: 3_600_000 },
    headlineCount: 50,
    epoch: 'bench',
    barDays: 0,
  });
  let events = 0;
  hub.messages$.subscribe(() => events++);
  gc?.();
  await gcEntriesIn();
  Object.assign(gcSeen, { majorGcs: 0, majorGcMs: 0, minorGcMs: 0 });
  const heapBefore = process.memoryUsage().heapUsed;
  const oldBefore = oldSpace();
  const offHeapBefore = process.memoryUsage().arrayBuffers;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const deadline = start + budgetMs;
  let framesDone = 0;
  await lastValueFrom(
    from(frames).pipe(
      takeWhile(() => performance.now() < deadline),
      (f$) => f$.pipe(mergeMap((f) => (framesDone++, [f]))),
      changes,
      publishTo(hub),
    ),
    { defaultValue: undefined },
  );
  const wallS = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  await gcEntriesIn();
  const gcs = { ...gcSeen };
  gc?.();
  const heapMB = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
  const oldMB = (oldSpace() - oldBefore) / 1e6;
  const offHeapMB = (process.memoryUsage().arrayBuffers - offHeapBefore) / 1e6;
  hub.close();
  const cpuS = (used.user + used.system) / 1e6;
  return { events, frames: framesDone, wallS, cpuS, heapMB, oldMB, offHeapMB, ...gcs };
};

/** Parse alone, to take it out of both figures: the diff and hub are what differ. */
const parseOnly: OperatorFunction<Frame, Change> = (frames$) =>
  frames$.pipe(mergeMap((frame) => (frameEvents(frame), [])));

/**
 * No parse or diff: 200 quote changes made up front per frame, straight into the hub, so the
 * hub's own cost to the collector (history above all: 100,000 events held) stands alone.
 */
const hubOnly: OperatorFunction<Frame, Change> = (frames$) =>
  frames$.pipe(
    mergeMap((frame, k) =>
      Array.from({ length: 200 }, (_, j): Change => {
        const i = k * 200 + j;
        const price = 1000 + ((i * 7) % 997);
        return {
          type: 'quote',
          symbol: `S${String(i % symbolCount).padStart(5, '0')}`,
          ts: frame.capturedAt!.toISOString(),
          fields: { price, change: price - 1000, changePercent: (price - 1000) / 10, direction: 'up' },
        };
      }),
    ),
  );

const frames = makeFrames();
const hubAlone = await measure(frames, hubOnly);
process.stdout.write(
  `core bench: ${symbolCount} symbols × ${frameCount} frames, budget ${budgetMs / 1000}s a run\n`,
);
const core = await measure(frames, feedChanges());
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
/** What the run cost the collector, per 100k events: what a long-lived server pays as it goes. */
const gcRow = (name: string, r: Result) => {
  const per = (x: number) => ((x * 100_000) / r.events).toFixed(1).padStart(9);
  return `${name.padEnd(28)}${per(r.oldMB)}${per(r.offHeapMB)}${per(r.majorGcs)}${per(r.majorGcMs)}${per(r.minorGcMs)}`;
};
process.stdout.write(
  `${'pipeline'.padEnd(28)} ${'frames'.padStart(6)} ${'events'.padStart(9)} ${'wall s'.padStart(7)} ${'events/cpu-s'.padStart(11)} ${'heap +MB'.padStart(8)}\n` +
    `${row('parse → diff → hub', core)}\n` +
    `${row('parse → naive diff → hub', naive)}\n` +
    `${'parse alone'.padEnd(28)} ${String(parse.frames).padStart(6)} ${'-'.padStart(9)} ${parse.wallS.toFixed(2).padStart(7)}\n` +
    `core vs naive: ${(core.events / core.cpuS / (naive.events / naive.cpuS)).toFixed(2)}× events per CPU second; ` +
    `diff → hub alone (parse CPU taken out): ${Math.round(withoutParse(core)).toLocaleString('en-US')} vs ` +
    `${Math.round(withoutParse(naive)).toLocaleString('en-US')} events/s, ${(withoutParse(core) / withoutParse(naive)).toFixed(1)}×\n` +
    `per 100k events${' '.repeat(13)}${'old +MB'.padStart(9)}${'offheap'.padStart(9)}${'majorGC'.padStart(9)}${'major ms'.padStart(9)}${'minor ms'.padStart(9)}\n` +
    `${gcRow('parse → diff → hub', core)}\n${gcRow('parse → naive diff → hub', naive)}\n` +
    `${gcRow(`hub alone (${hubAlone.frames} × 200 quotes)`, hubAlone)}\n`,
);
if (core.frames === naive.frames && core.events !== naive.events) {
  process.stderr.write(`the two disagree: core published ${core.events} events, naive ${naive.events}\n`);
  process.exit(1);
}

/** The CPU (ms) each of two pipelines took over the same frames, fed to them in turn. */
const interleaved = (frameLimit: number): { plainMs: number; barredMs: number; bars: number } => {
  // The hub folds quotes into bars unless it keeps none (`--bar-days 0`).
  const hub = (barDays: number) =>
    new Hub({ history: { size: 100_000, ageMs: 3_600_000 }, headlineCount: 50, epoch: 'b', barDays });
  const plainIn = new Subject<Frame>();
  const barredIn = new Subject<Frame>();
  const barred = hub(DEFAULT_BAR_DAYS);
  let bars = 0;
  const subscriptions = [
    plainIn.pipe(feedChanges(), publishTo(hub(0))).subscribe(),
    barredIn.pipe(feedChanges(), publishTo(barred)).subscribe(),
    barred.messages$.subscribe((m) => void (m.type === 'bars' && bars++)),
  ];
  const spent = { plain: 0, barred: 0 };
  const feed = (name: keyof typeof spent, input: Subject<Frame>, frame: Frame) => {
    const cpu = process.cpuUsage();
    input.next(frame);
    const used = process.cpuUsage(cpu);
    spent[name] += (used.user + used.system) / 1000;
  };
  frames.slice(0, frameLimit).forEach((frame, k) => {
    // Either goes first in turn, so neither always runs on the other's garbage.
    const [first, second] = k % 2 === 0 ? (['plain', 'barred'] as const) : (['barred', 'plain'] as const);
    feed(first, first === 'plain' ? plainIn : barredIn, frame);
    feed(second, second === 'plain' ? plainIn : barredIn, frame);
  });
  for (const s of subscriptions) s.unsubscribe();
  return { plainMs: spent.plain, barredMs: spent.barred, bars };
};

// The bars stage's share: the CPU it and its bars events add per frame, over the whole
// pipeline's CPU per frame with bars on. The two pipelines take each frame in turn, so a change
// in the machine's load (it is shared) falls on both alike; their GC work shares one heap and
// lands on whichever runs when it comes.
const shares: number[] = [];
for (let i = 0; i < barsRepeat; i++) {
  gc?.();
  const { plainMs, barredMs, bars } = interleaved(barsFrames);
  const perFrame = (ms: number) => ms / barsFrames;
  const barsMs = perFrame(barredMs) - perFrame(plainMs);
  shares.push((barsMs / perFrame(barredMs)) * 100);
  process.stdout.write(
    `bars stage (${barsFrames} frames, interleaved): ${barsMs.toFixed(3)} ms CPU per frame of ` +
      `${perFrame(barredMs).toFixed(3)} ms (${shares.at(-1)!.toFixed(1)}% of the pipeline; ${bars} bars events)\n`,
  );
}
const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
process.stdout.write(
  `bars stage share: mean ${mean.toFixed(1)}%, min ${Math.min(...shares).toFixed(1)}%, max ${Math.max(...shares).toFixed(1)}% over ${shares.length} runs\n`,
);
