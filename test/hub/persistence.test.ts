import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Change } from '../../src/diff/changes.ts';
import type { HubOptions } from '../../src/hub/hub.ts';
import type { PersistOptions } from '../../src/hub/journal.ts';
import { openPersistentHub } from '../../src/hub/persistence.ts';
import { recordingLog } from '../helpers.ts';
import { tempDirs } from '../temp-dirs.ts';

const newDir = tempDirs('tickstream-persist-');

/** A clock the test moves by hand. */
const manualClock = (start: number) => {
  const clock = { time: start, scheduler: undefined as unknown as SchedulerLike };
  clock.scheduler = { now: () => clock.time, schedule: asyncScheduler.schedule.bind(asyncScheduler) };
  return clock;
};

// Without bars (`barDays: 0`), so each quote is one event: the seqs below count them. The bars
// a journal holds are the subject of one test of their own.
const hubOptions = (extra: Partial<HubOptions> = {}): HubOptions => ({
  history: { size: 1000, ageMs: 60_000 },
  headlineCount: 50,
  barDays: 0,
  ...extra,
});
const persist = (extra: Partial<PersistOptions> = {}): PersistOptions => ({
  fsyncMs: 0,
  compactEvery: 3,
  ...extra,
});
const price = (symbol: string, p: number): Change => ({
  type: 'quote',
  symbol,
  ts: `2023-11-09T04:3${p % 10}:00.000Z`,
  fields: { kind: 'stock', price: p, change: 0, changePercent: 0, direction: 'unchanged' },
});
const story = (id: string): Change => ({
  type: 'headline',
  headline: { id, dateline: 'SEOUL', title: id, text: 'text', ts: '2023-11-09T04:31:00.000Z' },
});
const all = { wantsQuote: () => true, wantsHeadlines: true };

describe('a persistent hub', () => {
  it('continues epoch, seq, snapshot, history and story ids after a crash, across a compaction', () => {
    const dir = newDir();
    const { hub } = openPersistentHub(hubOptions(), dir, recordingLog().log, persist());
    for (const c of [price('AIRLINK', 1), price('BOP', 2), story('s1'), price('AIRLINK', 3), price('BOP', 4)])
      hub.apply(c);
    // No close(): as after kill -9, only what was written is there.
    const again = openPersistentHub(hubOptions(), dir, recordingLog().log, persist()).hub;

    expect(again.position).toEqual(hub.position);
    expect(again.snapshot()).toEqual(hub.snapshot());
    expect(again.latestHeadlines()).toEqual(hub.latestHeadlines());
    expect(again.seenHeadlineIds()).toEqual(['s1']);
    expect(again.resume({ epoch: hub.epoch, seq: 1 }, all)).toEqual(
      hub.resume({ epoch: hub.epoch, seq: 1 }, all),
    );
    expect(again.apply(price('AIRLINK', 5))).toMatchObject({ seq: 6, v: 3 });
  });

  it("folds the journal's quotes into the same bars after a crash, across a compaction", () => {
    const dir = newDir();
    const withBars = hubOptions({ barDays: 5 });
    const { hub } = openPersistentHub(withBars, dir, recordingLog().log, persist());
    for (const c of [
      price('AIRLINK', 1),
      price('BOP', 2),
      price('AIRLINK', 3),
      price('BOP', 13),
      price('AIRLINK', 4),
    ])
      hub.apply(c);
    const again = openPersistentHub(withBars, dir, recordingLog().log, persist()).hub;

    expect(again.allBars()).toEqual(hub.allBars());
    expect(again.allBars().filter((b) => b.closed).length).toBeGreaterThan(0);
    expect(again.resume({ epoch: hub.epoch, seq: 2 }, { ...all, wantsCandle: () => true })).toEqual(
      hub.resume({ epoch: hub.epoch, seq: 2 }, { ...all, wantsCandle: () => true }),
    );
  });

  it('starts a new epoch in a new directory, and a different one in another', () => {
    const a = openPersistentHub(hubOptions(), newDir(), recordingLog().log, persist()).hub;
    const b = openPersistentHub(hubOptions(), newDir(), recordingLog().log, persist()).hub;
    expect(a.position).toMatchObject({ seq: 0 });
    expect(a.epoch).not.toBe(b.epoch);
  });

  it('leaves the whole state in one file after a graceful close', () => {
    const dir = newDir();
    const { hub, journal } = openPersistentHub(
      hubOptions(),
      dir,
      recordingLog().log,
      persist({ compactEvery: 100 }),
    );
    hub.apply(price('AIRLINK', 1));
    hub.apply(price('AIRLINK', 2));
    journal.close();
    journal.close();
    expect(readFileSync(join(dir, 'journal.ndjson'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))).toMatchObject({
      epoch: hub.epoch,
      seq: 2,
    });
    expect(openPersistentHub(hubOptions(), dir, recordingLog().log, persist()).hub.position).toEqual(
      hub.position,
    );
  });

  it('keeps the events recorded while a compaction is written beside the journal', async () => {
    const dir = newDir();
    const { hub, journal } = openPersistentHub(hubOptions(), dir, recordingLog().log, persist());
    // The third event starts writing the state as of seq 3; the next two arrive meanwhile.
    for (const c of [
      price('AIRLINK', 1),
      price('AIRLINK', 2),
      price('AIRLINK', 3),
      price('BOP', 4),
      story('s1'),
    ])
      hub.apply(c);
    await journal.settled();
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))).toMatchObject({ seq: 3 });
    const lines = readFileSync(join(dir, 'journal.ndjson'), 'utf8').trim().split('\n');
    expect(
      lines.map((l) => (JSON.parse(l) as { seq?: number; m?: { seq: number } }).m?.seq ?? 'header'),
    ).toEqual(['header', 4, 5]);
    hub.apply(price('BOP', 6));
    // No close(): as after kill -9.
    const again = openPersistentHub(
      hubOptions(),
      dir,
      recordingLog().log,
      persist({ compactEvery: 100 }),
    ).hub;
    expect(again.position).toEqual(hub.position);
    expect(again.snapshot()).toEqual(hub.snapshot());
    expect(again.seenHeadlineIds()).toEqual(['s1']);
  });

  it('drops the half-written files a crash during a compaction left', () => {
    const dir = newDir();
    openPersistentHub(hubOptions(), dir, recordingLog().log, persist()).journal.close();
    writeFileSync(join(dir, 'state.json.999-1.tmp'), '{"epoch":');
    writeFileSync(join(dir, 'journal.ndjson.tmp'), '{"epoch":');
    openPersistentHub(hubOptions(), dir, recordingLog().log, persist()).journal.close();
    expect(readdirSync(dir).sort()).toEqual(['intact', 'journal.ndjson', 'state.json']);
  });

  it('skips a torn journal tail with a log line and continues from the last whole event', () => {
    const dir = newDir();
    const { hub } = openPersistentHub(hubOptions(), dir, recordingLog().log, persist({ compactEvery: 100 }));
    hub.apply(price('AIRLINK', 1));
    hub.apply(price('AIRLINK', 2));
    appendFileSync(join(dir, 'journal.ndjson'), '{"at":1,"m":{"type":"quote","seq":3,"sym');

    const { log, records } = recordingLog();
    const again = openPersistentHub(hubOptions(), dir, log, persist()).hub;
    expect(again.position).toEqual({ epoch: hub.epoch, seq: 2 });
    expect(again.snapshot()).toEqual(hub.snapshot());
    expect(records).toContainEqual(
      expect.objectContaining({ level: 40, msg: expect.stringContaining('partial line'), lastSeq: 2 }),
    );
    expect(again.apply(price('AIRLINK', 3))).toMatchObject({ seq: 3, v: 3 });
  });

  it('stops at a garbled line in the middle, and goes on in a new epoch: what follows may have been sent', () => {
    const dir = newDir();
    const { hub } = openPersistentHub(hubOptions(), dir, recordingLog().log, persist({ compactEvery: 100 }));
    hub.apply(price('AIRLINK', 1));
    const file = join(dir, 'journal.ndjson');
    appendFileSync(file, '\u0000\u0000\u0000\n');
    appendFileSync(
      file,
      `${JSON.stringify({ at: 1, m: { type: 'quote', seq: 2, symbol: 'X', v: 1, ts: 't' } })}\n`,
    );

    const { log, records } = recordingLog();
    const again = openPersistentHub(hubOptions(), dir, log, persist()).hub;
    expect(again.position.seq).toBe(1);
    expect(again.position.epoch).not.toBe(hub.epoch);
    expect(again.snapshot().map((q) => q.symbol)).toEqual(['AIRLINK']);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 50, msg: expect.stringContaining('damaged'), line: 3 }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({ reason: 'journal damaged at line 3: not JSON', lostEpoch: hub.epoch }),
    );
  });

  it('skips a last line that is JSON but no valid event, and never folds its numbers into bars', () => {
    const dir = newDir();
    const withBars = hubOptions({ barDays: 5 });
    const { hub } = openPersistentHub(withBars, dir, recordingLog().log, persist({ compactEvery: 100 }));
    hub.apply(price('AIRLINK', 1));
    hub.apply(price('AIRLINK', 2));
    const garbled = {
      type: 'quote',
      seq: hub.seq + 1,
      symbol: 'AIRLINK',
      v: 3,
      ts: hub.snapshot()[0]!.ts,
      price: '9x',
    };
    appendFileSync(join(dir, 'journal.ndjson'), `${JSON.stringify({ at: 1, m: garbled })}\n`);

    const { log, records } = recordingLog();
    const again = openPersistentHub(withBars, dir, log, persist()).hub;
    expect(again.position).toEqual(hub.position);
    expect(again.allBars()).toEqual(hub.allBars());
    expect(records).toContainEqual(
      expect.objectContaining({
        msg: expect.stringContaining('torn'),
        problem: expect.stringContaining('price'),
      }),
    );
  });

  it('moves an unreadable state file aside, says so, and starts a new epoch', () => {
    const dir = newDir();
    const { hub, journal } = openPersistentHub(hubOptions(), dir, recordingLog().log, persist());
    hub.apply(price('AIRLINK', 1));
    journal.close();
    writeFileSync(join(dir, 'state.json'), '{"epoch": garbage');

    const { log, records } = recordingLog();
    const again = openPersistentHub(hubOptions(), dir, log, persist()).hub;
    expect(again.epoch).not.toBe(hub.epoch);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 50, msg: expect.stringContaining('unreadable') }),
    );
    expect(readdirSync(dir).some((f) => f.startsWith('state.json.corrupt-'))).toBe(true);
  });

  it('keeps the age of history events across a restart', () => {
    const dir = newDir();
    const clock = manualClock(1_000_000);
    const options = hubOptions({ history: { size: 1000, ageMs: 10_000 }, scheduler: clock.scheduler });
    const { hub } = openPersistentHub(options, dir, recordingLog().log, persist());
    hub.apply(price('AIRLINK', 1));
    clock.time += 8_000;
    hub.apply(price('AIRLINK', 2));
    clock.time += 4_000;
    // The first event is now 12 s old: past the 10 s bound, restart or not.
    const again = openPersistentHub(options, dir, recordingLog().log, persist()).hub;
    expect(again.resume({ epoch: hub.epoch, seq: 1 }, all)).toMatchObject({ recovered: true });
    expect(again.resume({ epoch: hub.epoch, seq: 0 }, all)).toEqual({ recovered: false });
  });

  it('refuses a directory another live server holds, and takes over one left by a dead process', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'lock'), String(process.ppid));
    expect(() => openPersistentHub(hubOptions(), dir, recordingLog().log, persist())).toThrow(
      expect.objectContaining({
        code: 'data_dir_locked',
        message: expect.stringContaining(String(process.ppid)),
      }),
    );
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, 'lock'), String(dead));
    const { journal } = openPersistentHub(hubOptions(), dir, recordingLog().log, persist());
    expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8'))).toMatchObject({ pid: process.pid });
    journal.close();
    expect(readdirSync(dir)).not.toContain('lock');
  });

  it('fails at start with a clear error when the directory cannot be used', () => {
    const file = join(newDir(), 'a-file');
    writeFileSync(file, '');
    expect(() => openPersistentHub(hubOptions(), join(file, 'data'), recordingLog().log, persist())).toThrow(
      expect.objectContaining({ code: 'data_dir_unusable', message: expect.stringContaining('a-file/data') }),
    );
  });
});
