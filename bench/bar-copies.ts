/**
 * `npx tsx bench/bar-copies.ts [--symbols N --days N --writes N]`: what copying the bars costs
 * the event loop once the hub holds days of them: the ingest's snapshot write to Redis (every
 * `--bus-snapshot`, 1 s by default) and a data directory's compaction (every 10,000 events). A
 * hub folds a full session of quotes a minute (375 minutes) for `--symbols` symbols (default
 * 1,000) over `--days` trading days (default 5); then, beside each other in this run: the
 * snapshot as it was, every bar inside it (the peer), and the snapshot with the bar log
 * (`src/hub/bar-log-copy.ts`): its first, whole write, then `--writes` (default 5) writes a
 * second of quotes apart, one of them across a minute's end; then the same for compactions of
 * a data directory in the system's temp dir (blocking, so the figure holds the disk's writes
 * and syncs too), beside the state export a compaction used to take in one turn; then a start on
 * the directory (restore and the start's compaction) that goes on from its copy, beside one that
 * writes the copy afresh as every start did before; and the copy's first write read back as an
 * edge reloading reads it, at once beside a piece a turn, its pieces checked by zod beside the
 * compiled checks, and put into a hub, in the restore's
 * turn beside a step a turn before it. A write's pieces are timed one by one, as writers encode
 * them, a piece a turn. Prints wall ms and the bytes each writes.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  BarLogCopy,
  BarLogPiece,
  barLogSteps,
  decodeBarLogPiece,
  readBarLog,
} from '../src/hub/bar-log-copy.ts';
import { schemaProblem } from '../src/protocol/messages.ts';
import { restoreCluster } from '../src/bus/redis-store.ts';
import { encodeClusterState } from '../src/bus/stream-codec.ts';
import { BarStore } from '../src/hub/bar-store.ts';
import { Hub, restoredParts, type HubState, type RestoredParts } from '../src/hub/hub.ts';
import { openPersistentHub } from '../src/hub/persistence.ts';
import { createLogger } from '../src/log.ts';

const { values } = parseArgs({
  options: {
    symbols: { type: 'string', default: '1000' },
    days: { type: 'string', default: '5' },
    writes: { type: 'string', default: '5' },
  },
});
const symbols = Number(values.symbols);
const days = Number(values.days);
const writes = Number(values.writes);
if (!(symbols >= 1 && days >= 1 && days <= 5 && writes >= 1 && writes <= 100))
  throw new Error('--symbols (≥ 1), --days (1-5) and --writes (1-100) take positive numbers');

const SESSION_MINUTES = 375;
const dir = mkdtempSync(join(tmpdir(), 'tickstream-bar-copies-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
// A data directory compacted only when asked: the journal's appends are the only other cost.
const OPTIONS = { history: { size: 1000, ageMs: 3_600_000 }, headlineCount: 50, barDays: 5 };
const log = createLogger('warn');
const { hub, journal } = openPersistentHub(OPTIONS, dir, log, {
  fsyncMs: 1000,
  compactEvery: Number.MAX_SAFE_INTEGER,
});
const quote = (day: number, minute: number, s: number, second = 0) => {
  const price = 100 + ((minute * 7 + s + second) % 977) / 100;
  hub.apply({
    type: 'quote',
    symbol: `SYM${s}`,
    ts: new Date(Date.UTC(2023, 10, 6 + day, 4, 30 + minute, second)).toISOString(),
    fields: { kind: 'stock', price, change: 1, changePercent: 1, direction: 'up' },
  });
};
const filling = performance.now();
for (let day = 0; day < days; day++) {
  for (let minute = 0; minute < SESSION_MINUTES - 1; minute++)
    for (let s = 0; s < symbols; s++) quote(day, minute, s);
  console.log(`day ${day + 1} of ${days} folded (${((performance.now() - filling) / 1000).toFixed(1)} s)`);
}

const state = () => ({ gen: 1, epoch: hub.epoch, seq: hub.seq, quotes: hub.snapshot(), headlines: [] });
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const line = (label: string, figures: string) => console.log(`${label.padEnd(44)}${figures}`);

/** The snapshot as it was: every bar held, inside it. */
const whole = () => {
  const t = performance.now();
  const { bars, barSeqs } = hub.exportState();
  const json = encodeClusterState({ ...state(), bars, barSeqs });
  return `${(performance.now() - t).toFixed(1)} ms, ${mb(json.length)}`;
};

const copy = new BarLogCopy();
/** The pieces of the copy's first, whole write, by day: what an edge reads back on a reload. */
const firstPieces = new Map<string, string[]>();
/** The turn's part of a write: what it holds, each series' latest bar, the snapshot. */
const loggedTurn = () => {
  const t = performance.now();
  const write = copy.write(hub.barCopy);
  const latest = hub.barCopy.latestBars();
  const json = encodeClusterState({ ...state(), bars: latest.bars, barSeqs: latest.seqs, barLog: write.ref });
  return { write, json, ms: performance.now() - t };
};
/** The snapshot with the bar log: each series' latest bar inside it, what the log gained beside. */
const logged = () => {
  const { write, json, ms } = loggedTurn();
  const times: number[] = [];
  const texts = write.pieces.map((piece) => {
    const t = performance.now();
    const text = write.text(piece);
    times.push(performance.now() - t);
    return { day: piece.day, text };
  });
  if (write.reset)
    for (const { day, text } of texts) firstPieces.set(day, [...(firstPieces.get(day) ?? []), text]);
  copy.taken(write);
  const bytes = texts.reduce((n, { text }) => n + text.length, 0);
  times.sort((a, b) => a - b);
  const encoded =
    times.length === 0
      ? ''
      : `; ${times.length} pieces encoded a piece a turn, median ${times[times.length >> 1]!.toFixed(1)} ms, longest ${times.at(-1)!.toFixed(1)} ms, ${times.reduce((a, b) => a + b, 0).toFixed(0)} ms in all`;
  return `${ms.toFixed(1)} ms, ${mb(json.length)} + ${mb(bytes)} of log pieces${encoded}`;
};

console.log(`${symbols} symbols, ${days} day(s) of bars: ${hub.allBars().length} bars`);
line('every bar in the snapshot (before):', whole());
line('bar log, first write (whole):', logged());
const last = days - 1;
for (let w = 1; w <= writes; w++) {
  // A second of quotes: every symbol once, in the session's last minute, the last write after it.
  const minute = w === writes ? SESSION_MINUTES - 1 : SESSION_MINUTES - 2;
  for (let s = 0; s < symbols; s++) quote(last, minute, s, w);
  line(`bar log, write ${w}${w === writes ? ' (a new minute)' : ''}:`, logged());
}
line('every bar in the snapshot (after):', whole());

/** Reading the first write's pieces back, as an edge reloading does: at once, or a step a turn. */
const ref = {
  id: 'bench',
  days: Object.fromEntries([...firstPieces].map(([day, texts]) => [day, texts.length])),
};
const readPiece = (day: string) => (k: number) => firstPieces.get(day)![k];
const atOnce = performance.now();
readBarLog(ref, readPiece, new BarStore(OPTIONS.barDays));
line('bar log read back, at once (before):', `${(performance.now() - atOnce).toFixed(0)} ms, one turn`);
// The pieces' checks by zod itself, as the read made them before ajv's compiled ones.
const checks = (label: string, check: (text: string) => unknown) => {
  const t = performance.now();
  for (const texts of firstPieces.values()) for (const text of texts) check(text);
  line(label, `${(performance.now() - t).toFixed(0)} ms`);
};
checks('pieces decoded, zod checks (before):', (text) => schemaProblem(BarLogPiece, JSON.parse(text)));
checks('pieces decoded, compiled checks:', (text) => decodeBarLogPiece('bench', text));
const turns: number[] = [];
const steps = barLogSteps(ref, readPiece, new BarStore(OPTIONS.barDays));
for (let done = false; !done;) {
  const t = performance.now();
  done = steps.next().done === true;
  turns.push(performance.now() - t);
}
turns.sort((a, b) => a - b);
line(
  'bar log read back, a piece a turn:',
  `${turns.length} turns, median ${turns[turns.length >> 1]!.toFixed(1)} ms, longest ${turns.at(-1)!.toFixed(0)} ms`,
);

/** A reload putting the cluster (every bar) into a hub. */
const snapshot = hub.exportState();
const reloadInto = (): Hub => new Hub(OPTIONS);
const atOnceTarget = reloadInto();
const t0 = performance.now();
atOnceTarget.restore(snapshot);
line('reload, bars put in the restore (before):', `${(performance.now() - t0).toFixed(0)} ms, one turn`);
atOnceTarget.close();
const stepped = restoredParts(OPTIONS, snapshot, Date.now());
const putTurns: number[] = [];
let parts: RestoredParts | undefined;
while (!parts) {
  const t = performance.now();
  const step = stepped.next();
  putTurns.push(performance.now() - t);
  if (step.done) parts = step.value;
}
putTurns.sort((a, b) => a - b);
const steppedTarget = reloadInto();
const t1 = performance.now();
restoreCluster(steppedTarget, { gen: 1, snapshot, run: [], parts });
line(
  'reload, bars and history a step a turn:',
  `${putTurns.length} turns, median ${putTurns[putTurns.length >> 1]!.toFixed(1)} ms, longest ${putTurns.at(-1)!.toFixed(0)} ms; then the restore ${(performance.now() - t1).toFixed(0)} ms, one turn`,
);
steppedTarget.close();

/** A blocking compaction of the data directory: state, bars files, journal, syncs. */
const compact = () => {
  const t = performance.now();
  journal.compact();
  return `${(performance.now() - t).toFixed(1)} ms`;
};
/** What a compaction took in one turn before the bar log: the whole state, every bar in it. */
const oldTurn = () => {
  const t = performance.now();
  hub.exportStateTexts('all');
  return `${(performance.now() - t).toFixed(1)} ms`;
};
line('state export, every bar (one turn before):', oldTurn());
line('compaction, first (whole):', compact());
for (let w = 1; w <= writes; w++) {
  const minute = w === writes ? SESSION_MINUTES : SESSION_MINUTES - 1;
  for (let s = 0; s < symbols; s++) quote(last, minute, s, w + writes);
  line(`compaction ${w}${w === writes ? ' (a new minute)' : ''}:`, compact());
}
journal.close();

/** A start on the data directory, as after kill -9: restore, then the start's compaction. */
const start = () => {
  const t = performance.now();
  const again = openPersistentHub(OPTIONS, dir, log, {
    fsyncMs: 1000,
    compactEvery: Number.MAX_SAFE_INTEGER,
  });
  const ms = performance.now() - t;
  again.journal.close();
  return `${ms.toFixed(0)} ms, ${again.hub.allBars().length} bars`;
};
line('start, going on from the copy:', start());
// The copy's files holding a line past what the state names (a compaction that died) make the
// start write the copy afresh, as every start did before: the peer, in the same run.
const { barLog } = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as HubState;
const [day] = Object.keys(barLog!.days);
appendFileSync(join(dir, 'bars', barLog!.id, `${day}.ndjson`), '{}\n');
line('start, writing the copy afresh (before):', start());
