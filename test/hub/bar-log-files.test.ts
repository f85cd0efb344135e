import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PIECE_BARS } from '../../src/hub/bar-log-copy.ts';
import type { BarCopySource } from '../../src/hub/bar-store.ts';
import type { Hub, HubState } from '../../src/hub/hub.ts';
import type { PersistOptions } from '../../src/hub/journal.ts';
import { openPersistentHub } from '../../src/hub/persistence.ts';
import { barKeys, recordingLog, waitFor } from '../helpers.ts';
import { tempDirs } from '../temp-dirs.ts';

const newDir = tempDirs('tickstream-bar-log-');
const SYMBOLS = ['AIRLINK', 'HBL', 'OGDC'];

const open = (dir: string, barDays = 5, persist: Partial<PersistOptions> = {}) =>
  openPersistentHub(
    { history: { size: 1000, ageMs: 600_000 }, headlineCount: 5, barDays },
    dir,
    recordingLog().log,
    { fsyncMs: 0, compactEvery: 1_000_000, ...persist },
  );

/** Every symbol once a minute for `minutes` minutes of 2023-11-`date`. */
const trade = (hub: Hub, date: number, minutes: number, from = 0) => {
  for (let m = from; m < from + minutes; m++)
    SYMBOLS.forEach((symbol, i) =>
      hub.apply({
        type: 'quote',
        symbol,
        ts: new Date(Date.UTC(2023, 10, date, 4, 31 + m)).toISOString(),
        fields: {
          kind: 'stock',
          price: 10 * (i + 1) + m / 100,
          change: 1,
          changePercent: 1,
          direction: 'up',
        },
      }),
    );
};

/** A state's bars as comparable text. */
const keyed = ({ bars, barSeqs }: Pick<HubState, 'bars' | 'barSeqs'>) => barKeys(bars, barSeqs);

const stateFile = (dir: string): HubState =>
  JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as HubState;
const dayFile = (dir: string, day: string) => join(dir, 'bars', stateFile(dir).barLog!.id, `${day}.ndjson`);

describe('the bars of a data directory', () => {
  it('a compaction appends what the day logs gained; the state file holds each latest bar; a restart holds every bar', () => {
    const dir = newDir();
    const { hub, journal } = open(dir);
    trade(hub, 8, 20);
    trade(hub, 9, 10);
    journal.compact();
    // Three symbols, five intervals: the state file no longer grows with the days of bars.
    expect(stateFile(dir).bars!.length).toBeLessThanOrEqual(15);
    expect(hub.exportState().bars!.length).toBeGreaterThan(80);
    const eighth = readFileSync(dayFile(dir, '2023-11-08'), 'utf8');
    const ninth = readFileSync(dayFile(dir, '2023-11-09'), 'utf8');

    trade(hub, 9, 10, 10);
    journal.compact();
    // Only appended to: what a compaction wrote stays as it was.
    expect(readFileSync(dayFile(dir, '2023-11-08'), 'utf8')).toBe(eighth);
    const grown = readFileSync(dayFile(dir, '2023-11-09'), 'utf8');
    expect(grown.startsWith(ninth)).toBe(true);
    expect(grown.length).toBeGreaterThan(ninth.length);

    // No close(): as after kill -9.
    const again = open(dir).hub;
    expect(again.position).toEqual(hub.position);
    expect(keyed(again.exportState())).toEqual(keyed(hub.exportState()));
  });

  it('compacts beside the journal the same way', async () => {
    const dir = newDir();
    const { hub, journal } = open(dir, 5, { compactEvery: 40 });
    for (let m = 0; m < 30; m += 5) {
      trade(hub, 8, 5, m);
      await journal.settled();
    }
    await waitFor(() => existsSync(join(dir, 'bars')), 'a compaction in the background');
    await journal.settled();
    const again = open(dir).hub;
    expect(keyed(again.exportState())).toEqual(keyed(hub.exportState()));
  });

  it('a compaction beside the journal encodes the copy a piece a turn of the loop', async () => {
    const dir = newDir();
    const symbols = 2 * PIECE_BARS;
    const minutes = 3;
    // Every quote is journaled: the last one starts a compaction beside the journal, the first
    // to copy bars (two minutes of 1m bars logged for each symbol: four pieces).
    const { hub, journal } = open(dir, 5, { compactEvery: symbols * minutes, fsyncMs: 1000 });
    const source = hub.barCopy;
    let turn = 0;
    const turns: number[] = [];
    Object.defineProperty(hub, 'barCopy', {
      get: (): BarCopySource => ({
        logs: () => source.logs(),
        latestBars: () => source.latestBars(),
        changedSince: (...args) => source.changedSince(...args),
        logBars: (...args) => {
          turns.push(turn);
          return source.logBars(...args);
        },
      }),
    });
    const ticking = setInterval(() => turn++, 0);
    try {
      for (let m = 0; m < minutes; m++)
        for (let s = 0; s < symbols; s++)
          hub.apply({
            type: 'quote',
            symbol: `S${s}`,
            ts: new Date(Date.UTC(2023, 10, 8, 4, 31 + m)).toISOString(),
            fields: { kind: 'stock', price: 10 + m, change: 1, changePercent: 1, direction: 'up' },
          });
      await waitFor(() => turns.length > 0, 'a compaction beside the journal');
      await journal.settled();
    } finally {
      clearInterval(ticking);
    }
    expect(turns).toHaveLength(4);
    expect(new Set(turns).size).toBe(4);
    const again = open(dir).hub;
    expect(keyed(again.exportState())).toEqual(keyed(hub.exportState()));
  });

  it('a compaction at close, while one beside the journal has begun its copy: the restart holds every bar', async () => {
    const dir = newDir();
    const { hub, journal } = open(dir, 5, { compactEvery: 60 });
    trade(hub, 8, 19);
    // The start's compaction made no copy (no bars yet): the first lines are this compaction's.
    const written = () =>
      existsSync(join(dir, 'bars')) &&
      readdirSync(join(dir, 'bars'), { recursive: true }).some(
        (f) => String(f).endsWith('.ndjson') && statSync(join(dir, 'bars', String(f))).size > 0,
      );
    const deadline = Date.now() + 10_000;
    while (!written() && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(written()).toBe(true);
    journal.close();
    await journal.settled();
    const again = open(dir).hub;
    expect(keyed(again.exportState())).toEqual(keyed(hub.exportState()));
  });

  it('reads only the lines the state names: a compaction that died after appending leaves the rest', () => {
    const dir = newDir();
    const { hub, journal } = open(dir);
    trade(hub, 8, 10);
    journal.compact();
    const id = stateFile(dir).barLog!.id;
    appendFileSync(dayFile(dir, '2023-11-08'), '{"bars":[{"symbol":"AIRLINK"');
    const again = open(dir);
    expect(again.hub.position).toEqual(hub.position);
    expect(keyed(again.hub.exportState())).toEqual(keyed(hub.exportState()));
    // Pieces added after that line would be read as part of it: the copy starts over instead.
    expect(stateFile(dir).barLog!.id).not.toBe(id);
    for (const h of [hub, again.hub]) trade(h, 8, 10, 10);
    again.journal.compact();
    expect(keyed(open(dir).hub.exportState())).toEqual(keyed(hub.exportState()));
  });

  it('drops the files of a day no longer held, and of copies the state no longer names', () => {
    const dir = newDir();
    const { hub, journal } = open(dir, 2);
    trade(hub, 8, 3);
    trade(hub, 9, 3);
    journal.compact();
    const first = stateFile(dir).barLog!.id;
    expect(readdirSync(join(dir, 'bars', first)).sort()).toEqual(['2023-11-08.ndjson', '2023-11-09.ndjson']);
    trade(hub, 10, 3);
    journal.compact();
    expect(readdirSync(join(dir, 'bars', first)).sort()).toEqual(['2023-11-09.ndjson', '2023-11-10.ndjson']);
    journal.close();
    // A start goes on from the copy; one the state no longer names goes.
    mkdirSync(join(dir, 'bars', 'left-by-a-dead-compaction'));
    open(dir, 2).journal.close();
    expect(readdirSync(join(dir, 'bars'))).toEqual([first]);
  });

  it('a start goes on from the copy it restored, writing none of it again, and later starts hold every bar', () => {
    const dir = newDir();
    const { hub, journal } = open(dir);
    trade(hub, 8, 20);
    trade(hub, 9, 10);
    journal.compact();
    const id = stateFile(dir).barLog!.id;
    const eighth = readFileSync(dayFile(dir, '2023-11-08'), 'utf8');
    const ninth = readFileSync(dayFile(dir, '2023-11-09'), 'utf8');
    journal.close();

    const second = open(dir);
    expect(stateFile(dir).barLog!.id).toBe(id);
    expect(readFileSync(dayFile(dir, '2023-11-08'), 'utf8')).toBe(eighth);
    expect(readFileSync(dayFile(dir, '2023-11-09'), 'utf8')).toBe(ninth);
    expect(keyed(second.hub.exportState())).toEqual(keyed(hub.exportState()));

    // The same quotes to both: the copy goes on, on a day it held and on a new one.
    for (const h of [hub, second.hub]) {
      trade(h, 9, 10, 10);
      trade(h, 10, 5);
    }
    second.journal.compact();
    expect(stateFile(dir).barLog!.id).toBe(id);
    expect(readFileSync(dayFile(dir, '2023-11-09'), 'utf8').startsWith(ninth)).toBe(true);
    // No close(): as after kill -9.
    const third = open(dir).hub;
    expect(keyed(third.exportState())).toEqual(keyed(hub.exportState()));
  });

  const damages: [string, (file: string) => void, RegExp][] = [
    ['a day file gone', (file) => rmSync(file), /^bars unreadable: .*lacks piece 0 of 2023-11-08/],
    [
      'a piece cut short, its line without its end',
      (file) => truncateSync(file, statSync(file).size - 3),
      /^bars unreadable: .*piece 0 of 2023-11-08 is not JSON/,
    ],
  ];
  it.each(damages)(
    'goes on without bars it cannot read (%s), in a new epoch, and says why',
    (_, damage, why) => {
      const dir = newDir();
      const { hub, journal } = open(dir);
      trade(hub, 8, 10);
      journal.compact();
      damage(dayFile(dir, '2023-11-08'));
      const { log, records } = recordingLog();
      const again = openPersistentHub(
        { history: { size: 1000, ageMs: 600_000 }, headlineCount: 5, barDays: 5 },
        dir,
        log,
        { fsyncMs: 0, compactEvery: 1_000_000 },
      ).hub;
      expect(again.epoch).not.toBe(hub.epoch);
      expect(again.snapshot()).toEqual(hub.snapshot());
      expect(records).toContainEqual(
        expect.objectContaining({ level: 40, reason: expect.stringMatching(why) }),
      );
    },
  );
});

describe('a data directory under a hub restored from elsewhere (the bus)', () => {
  it('a restart after the hub took another state holds that state and what came after', () => {
    const dir = newDir();
    const { hub, journal } = open(dir, 5, { compactEvery: 40 });
    trade(hub, 8, 10);
    // The copy holds this hub's bars of the 8th: the restored state's are others.
    journal.compact();
    // Another process's state, further on (as an ingest loads Redis's): other bars, other prices.
    const other = open(newDir()).hub;
    trade(other, 8, 30);
    trade(other, 9, 10);
    hub.restore(other.exportState());
    for (const h of [hub, other]) trade(h, 9, 10, 10);
    // No close(): as after kill -9.
    const again = open(dir).hub;
    expect(again.position).toEqual(hub.position);
    expect(again.snapshot()).toEqual(hub.snapshot());
    expect(keyed(again.exportState())).toEqual(keyed(hub.exportState()));
  });
});
