/**
 * `npx tsx bench/compaction.ts [--events N --runs N]`: what a compaction blocks the event
 * loop for. A hub takes `--events` quote changes (default 100,000; 1,000 symbols) with history
 * as large, then `--runs` times (default 5) takes the state a compaction writes and makes the
 * state file's pieces, the way the background compaction does (one piece per turn). Prints, per
 * run, the one turn that takes the state, the longest piece and all pieces together: wall ms,
 * and CPU ms beside (on a shared machine the wall time includes waiting for a core).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Hub } from '../src/hub/hub.ts';
import { stateChunks } from '../src/hub/state-file.ts';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '100000' }, runs: { type: 'string', default: '5' } },
});
const events = Number(values.events);
const runs = Number(values.runs);
if (!(events >= 1 && runs >= 1 && runs <= 50))
  throw new Error('--events and --runs (1-50) take positive numbers');

const hub = new Hub({ history: { size: events, ageMs: 24 * 3_600_000 }, headlineCount: 50 });
for (let i = 1; i <= events; i++) {
  const price = 100 + (i % 977) / 100;
  hub.apply({
    type: 'quote',
    symbol: `SYM${i % 1000}`,
    ts: new Date(Date.UTC(2023, 10, 9, 4, 31) + i).toISOString(),
    fields: {
      kind: 'stock',
      price,
      change: price - 100,
      changePercent: price - 100,
      direction: 'up',
      high: price + 1,
      low: 99,
    },
  });
}

const ms = (t: number) => (performance.now() - t).toFixed(1);
const cpuMs = (c: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(c);
  return ((user + system) / 1000).toFixed(1);
};
for (let run = 1; run <= runs; run++) {
  let t = performance.now();
  const cpu = process.cpuUsage();
  const state = hub.exportStateTexts();
  const take = `${ms(t)} ms (CPU ${cpuMs(cpu)})`;
  let longest = 0;
  let bytes = 0;
  const all = performance.now();
  const pieces = stateChunks(state);
  for (;;) {
    t = performance.now();
    const piece = pieces.next();
    longest = Math.max(longest, performance.now() - t);
    if (piece.done) break;
    bytes += typeof piece.value === 'string' ? Buffer.byteLength(piece.value) : piece.value.length;
  }
  console.log(
    `run ${run}: state taken in ${take} (one turn); pieces ${ms(all)} ms in all, longest ${longest.toFixed(1)} ms; ${(bytes / 1e6).toFixed(1)} MB`,
  );
}
