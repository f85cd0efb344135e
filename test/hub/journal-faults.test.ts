import { existsSync, fdatasyncSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Change } from '../../src/diff/changes.ts';
import type { HubOptions } from '../../src/hub/hub.ts';
import { nodeIo, type JournalIo } from '../../src/hub/journal-io.ts';
import type { PersistOptions } from '../../src/hub/journal.ts';
import { openPersistentHub } from '../../src/hub/persistence.ts';
import { recordingLog } from '../helpers.ts';
import { tempDirs } from '../temp-dirs.ts';
import type { HubMessage } from '../../src/protocol/messages.ts';

const newDir = tempDirs('tickstream-journal-faults-');

const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

/** node:fs, with the next faults the test asks for. */
class FaultyIo implements JournalIo {
  /** What the next writes do: throw this error, or write only this many bytes. */
  readonly writes: (Error | number)[] = [];
  syncError: Error | undefined;
  unlinkError: Error | undefined;

  write(fd: number, data: string | Uint8Array): number {
    const fault = this.writes.shift();
    if (fault instanceof Error) throw fault;
    if (fault === undefined) return nodeIo.write(fd, data);
    return writeSync(fd, Buffer.from(data).subarray(0, fault));
  }
  sync(fd: number): void {
    if (this.syncError) throw this.syncError;
    fdatasyncSync(fd);
  }
  unlink(path: string): void {
    if (this.unlinkError) throw this.unlinkError;
    unlinkSync(path);
  }
}

const hubOptions: HubOptions = { history: { size: 1000, ageMs: 3_600_000 }, headlineCount: 50 };
const price = (symbol: string, p: number): Change => ({
  type: 'quote',
  symbol,
  ts: '2023-11-09T04:31:00.000Z',
  fields: { kind: 'stock', price: p, change: 0, changePercent: 0, direction: 'unchanged' },
});
const all = { wantsQuote: () => true, wantsHeadlines: true };

/** A persistent hub whose journal writes through `io` and retries on a virtual clock. */
const open = (dir: string, io = new FaultyIo(), extra: Partial<PersistOptions> = {}) => {
  const clock = new VirtualTimeScheduler(VirtualAction, 0);
  const errors: Error[] = [];
  const { log, records } = recordingLog();
  const opened = openPersistentHub(hubOptions, dir, log, {
    fsyncMs: 0,
    compactEvery: 100,
    retryMs: 1000,
    scheduler: clock,
    io,
    onError: (err) => errors.push(err),
    ...extra,
  });
  /** Runs the retry timers due up to `ms` of virtual time. */
  const advance = (ms: number) => {
    clock.maxFrames = clock.frame + ms;
    clock.flush();
  };
  return { ...opened, io, errors, records, advance };
};

/** The journal's lines; every one must be whole JSON. */
const journalLines = (dir: string) =>
  readFileSync(join(dir, 'journal.ndjson'), 'utf8')
    .split('\n')
    .filter((l, i, a) => i < a.length - 1 || l !== '')
    .map((l) => JSON.parse(l) as { epoch?: string; m?: HubMessage });

describe('a journal that cannot write', () => {
  it('cuts a short write back off, says so in health and the log, and serving goes on', () => {
    const dir = newDir();
    const { hub, journal, io, errors, records } = open(dir);
    hub.apply(price('AIRLINK', 1));
    io.writes.push(17);
    const sent: HubMessage[] = [];
    hub.messages$.subscribe((m) => sent.push(m));
    hub.apply(price('AIRLINK', 2));
    hub.apply(price('AIRLINK', 3));

    expect(sent.map((m) => m.seq)).toEqual([2, 3]);
    expect(journalLines(dir).map((l) => l.m?.seq ?? 'header')).toEqual(['header', 1]);
    expect(journal.health()).toMatchObject({ ok: false, error: expect.stringContaining('ESHORT') });
    expect(errors).toHaveLength(1);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 50, seq: 2, msg: expect.stringContaining('Free space') }),
    );
    expect(existsSync(join(dir, 'intact'))).toBe(false);
  });

  it('after EIO, a restart starts a new epoch: a client that saw the lost events is not told recovered:true', () => {
    const dir = newDir();
    const first = open(dir);
    first.hub.apply(price('AIRLINK', 1));
    first.io.writes.push(errno('EIO'));
    first.hub.apply(price('AIRLINK', 2));
    first.hub.apply(price('BOP', 3));
    const seen = first.hub.position; // a client was sent seq 3

    // As after kill -9 while the journal was failing.
    const { hub, records } = open(dir);
    expect(hub.epoch).not.toBe(seen.epoch);
    expect(hub.resume(seen, all)).toEqual({ recovered: false });
    expect(hub.resume({ epoch: seen.epoch, seq: 1 }, all)).toEqual({ recovered: false });
    // What the journal held is kept as the new epoch's state.
    expect(hub.snapshot().map((q) => [q.symbol, q.price, q.v])).toEqual([['AIRLINK', 1, 1]]);
    expect(records).toContainEqual(expect.objectContaining({ level: 40, lostEpoch: seen.epoch }));
  });

  it('a failed fdatasync taints the epoch the same way', () => {
    const dir = newDir();
    const first = open(dir);
    first.io.syncError = errno('EIO');
    first.hub.apply(price('AIRLINK', 1));
    expect(first.journal.health()).toMatchObject({ ok: false, error: expect.stringContaining('EIO') });
    expect(open(dir).hub.epoch).not.toBe(first.hub.epoch);
  });

  it('writes again by itself with backoff once space returns, and then the epoch is whole again', () => {
    const dir = newDir();
    const { hub, journal, io, errors, records, advance } = open(dir);
    hub.apply(price('AIRLINK', 1));
    io.writes.push(errno('ENOSPC'));
    hub.apply(price('AIRLINK', 2));
    // Still full: the attempts at 1 s and 3 s fail (the state file is written whole or not at all).
    io.writes.push(errno('ENOSPC'), 100);
    advance(4000);
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ENOSPC', 'ENOSPC', 'ESHORT']);
    expect(records.filter((r) => r.msg.includes('still cannot'))).toMatchObject([
      { attempt: 1 },
      { attempt: 2 },
    ]);
    hub.apply(price('BOP', 3));
    expect(journal.health().ok).toBe(false);

    // Space is back: the next attempt (4 s after the last) writes the whole state.
    advance(4000);
    expect(journal.health()).toEqual({ ok: true });
    expect(existsSync(join(dir, 'intact'))).toBe(true);
    expect(records).toContainEqual(
      expect.objectContaining({ msg: expect.stringContaining('writable again') }),
    );
    hub.apply(price('BOP', 4));
    expect(journalLines(dir).map((l) => l.m?.seq ?? 'header')).toEqual(['header', 4]);

    // A restart now continues the same epoch with every event, those of the failure included.
    const again = open(dir).hub;
    expect(again.position).toEqual(hub.position);
    expect(again.snapshot()).toEqual(hub.snapshot());
    expect(again.resume({ epoch: hub.epoch, seq: 1 }, all)).toMatchObject({ recovered: true });
  });

  it('a graceful stop while failing writes the whole state if it can', () => {
    const dir = newDir();
    const { hub, journal, io } = open(dir);
    io.writes.push(errno('ENOSPC'));
    hub.apply(price('AIRLINK', 1));
    journal.close();
    journal.close();
    expect(open(dir).hub.position).toEqual(hub.position);
  });

  it('exits, before the event is sent, when the directory cannot even be marked', () => {
    const dir = newDir();
    const fatal: { err: Error; sent: number[] }[] = [];
    const sent: number[] = [];
    const io = new FaultyIo();
    const { hub } = open(dir, io, { onFatal: (err) => fatal.push({ err, sent: [...sent] }) });
    hub.messages$.subscribe((m) => sent.push(m.seq));
    io.writes.push(errno('EIO'));
    io.unlinkError = errno('EROFS');
    hub.apply(price('AIRLINK', 1));
    expect(fatal).toEqual([{ err: io.unlinkError, sent: [] }]);
  });
});

describe('a restart after the machine rebooted', () => {
  const crashAndReboot = (persist: Partial<PersistOptions>, graceful = false) => {
    const dir = newDir();
    const first = open(dir, new FaultyIo(), { boot: 'boot-1', ...persist });
    first.hub.apply(price('AIRLINK', 1));
    if (graceful) first.journal.close();
    return {
      before: first.hub.position,
      after: open(dir, new FaultyIo(), { boot: 'boot-2', ...persist }).hub,
    };
  };

  it('starts a new epoch when events waited for fsync: an OS crash may have lost them', () => {
    const { before, after } = crashAndReboot({ fsyncMs: 1000 });
    expect(after.epoch).not.toBe(before.epoch);
    expect(after.resume(before, all)).toEqual({ recovered: false });
    expect(after.snapshot().map((q) => q.symbol)).toEqual(['AIRLINK']);
  });

  it('continues the epoch when every event was synced before it was sent, or the stop was graceful', () => {
    for (const { before, after } of [
      crashAndReboot({ fsyncMs: 0 }),
      crashAndReboot({ fsyncMs: 1000 }, true),
    ]) {
      expect(after.position).toEqual(before);
      expect(after.resume(before, all)).toEqual({ recovered: true, messages: [] });
    }
  });

  it('continues the epoch after a kill -9 on the same boot', () => {
    const dir = newDir();
    const first = open(dir, new FaultyIo(), { boot: 'boot-1', fsyncMs: 1000 });
    first.hub.apply(price('AIRLINK', 1));
    expect(open(dir, new FaultyIo(), { boot: 'boot-1', fsyncMs: 1000 }).hub.position).toEqual(
      first.hub.position,
    );
  });
});
