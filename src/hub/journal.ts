import { closeSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { asyncScheduler, interval, timer, type SchedulerLike, type Subscription } from 'rxjs';
import type { HubMessage } from '../protocol/messages.ts';
import { BarLogChanged, BarLogCopy, type BarLogWrite, type LoggedBars } from './bar-log-copy.ts';
import type { Hub, HubStateTexts } from './hub.ts';
import { currentBoot, markIntact, markLost } from './intact-mark.ts';
import {
  backgroundDisk,
  blockingDisk,
  compaction,
  JOURNAL_FILE,
  runInBackground,
  type CompactedJournal,
} from './journal-compaction.ts';
import { runAtOnce } from './steps.ts';
import { journalLine } from './journal-file.ts';
import { appendWhole, errorText, nodeIo, type JournalIo } from './journal-io.ts';
import { syncDir } from './state-file.ts';

export { JOURNAL_FILE };
/** Longest wait between attempts to write again after a failure. */
const MAX_RETRY_MS = 30_000;

/** How a data directory is kept. */
export interface PersistOptions {
  /** Longest time (ms) a journaled event waits for fsync; 0 syncs every event. */
  fsyncMs: number;
  /** Journal lines after which the state is compacted into the state file. */
  compactEvery: number;
  /** First wait (ms) before writing again after a failure; it doubles up to 30 s. Default 1000. */
  retryMs?: number;
  scheduler?: SchedulerLike;
  io?: JournalIo;
  /** The machine's boot id (default: Linux's; none where it cannot be told). */
  boot?: string;
  /** Called with every failed write, sync or compaction (the errors metric). */
  onError?: (err: Error) => void;
  /**
   * Called when a write failed and the directory cannot even be marked as missing events
   * (a dead or read-only filesystem). Default: log and exit, before the event is sent.
   */
  onFatal?: (err: Error) => void;
}

/** Whether the journal is writing; when not, the first error and since when. */
export interface JournalHealth {
  ok: boolean;
  error?: string;
  since?: string;
}

/**
 * The hub's append-only journal in a data directory: each event is written (one write, before
 * any client sees it) so a kill -9 loses nothing; fsync runs at most `fsyncMs` after a write,
 * bounding what an OS crash can lose; every `compactEvery` events the whole state is written
 * to `state.json` and the journal starts again after it.
 *
 * Compaction while serving runs beside the journal instead of stopping the loop (writing and
 * syncing a full history would stall every client meanwhile): the state as of seq S is written and synced in the
 * background while events go on into the current journal and are also held; then `state.json`
 * is replaced, and a new journal holding S's header and the held events replaces the old one.
 * A crash at any point leaves a state and a journal that together hold every event: before the
 * first rename the old pair, after it the new state and the old journal (whose records at or
 * below S loading skips), after the second the new pair.
 *
 * A failed or short write (a full disk, EIO) is cut back off the journal, so the file only ever
 * holds whole lines, and the intact mark is removed before the event goes out: serving goes on
 * while the journal waits, and a restart meanwhile starts a new epoch. Writing is tried again
 * with backoff as a whole compaction (the journal lacks the events since the failure); once one
 * succeeds the mark is made again and the epoch is whole once more.
 */
export class Journal {
  private fd: number | undefined;
  private hub: Hub | undefined;
  private lines = 0;
  private dirty = false;
  private timer: Subscription | undefined;
  private restores: Subscription | undefined;
  private closed = false;
  /** Bumped by every compaction and failure, so a background one overtaken by either is dropped. */
  private generation = 0;
  private compacting: Promise<void> | undefined;
  /** The state file's copy of the bar logs, which compactions extend. */
  private readonly barLog = new BarLogCopy();
  /** Writes made of the copy, so a compaction that did not finish knows whether one came after it. */
  private barWrites = 0;
  /** Journal lines written since the state being compacted in the background. */
  private held: string[] | undefined;
  private failure: { error: string; since: string } | undefined;
  private retry: Subscription | undefined;
  private attempts = 0;
  private readonly io: JournalIo;
  private readonly scheduler: SchedulerLike;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
    private readonly options: PersistOptions,
    private readonly unlock: () => void = () => {},
  ) {
    this.io = options.io ?? nodeIo;
    this.scheduler = options.scheduler ?? asyncScheduler;
  }

  /** Marks the directory whole; naming this boot while events wait for fsync (an OS crash loses them). */
  private markIntact(): void {
    const boot = this.options.boot ?? currentBoot();
    markIntact(this.dir, this.options.fsyncMs > 0 && !this.closed ? boot : undefined);
  }

  /** The hub's recorder: writes one event. */
  readonly append = (message: HubMessage, at: number): void => {
    if (this.fd === undefined) return;
    const line = journalLine(message, at);
    try {
      appendWhole(this.io, this.fd, line, (err) =>
        this.log.warn({ err, dir: this.dir }, 'could not cut a short write off the journal'),
      );
      this.held?.push(line);
      if (this.options.fsyncMs === 0) this.io.sync(this.fd);
      else this.dirty = true;
      if (++this.lines >= this.options.compactEvery && !this.compacting) this.compactInBackground();
    } catch (err) {
      this.fail(err as Error, message.seq);
    }
  };

  /**
   * Starts journaling `hub`: writes its current state, then a fresh journal. `copy`: the bars of
   * the directory's copy that `hub` was restored from, which the state then goes on from instead
   * of writing every bar again.
   */
  start(hub: Hub, copy?: LoggedBars): void {
    this.hub = hub;
    if (copy) this.barLog.adopt(copy);
    this.compact();
    this.restores = hub.restored$.subscribe(this.onRestored);
    this.markIntact();
    if (this.options.fsyncMs > 0)
      this.timer = interval(this.options.fsyncMs, this.scheduler).subscribe(() => this.sync());
  }

  /**
   * The hub took a state from elsewhere (an ingest starting against a Redis that holds a later
   * one): the state file and the journal no longer add up to it, and a restart would put later
   * events on top of the old state. It is written whole before any later event is journaled (at
   * once: the ingest serves no one before its bus has started), and the bar copy starts over:
   * its pieces hold the bars the hub had.
   */
  private readonly onRestored = (): void => {
    this.barLog.lost();
    try {
      this.compact();
    } catch (err) {
      this.fail(err as Error);
    }
  };

  /** Whether events are being journaled; while not, what failed and since when. */
  health(): JournalHealth {
    return this.failure ? { ok: false, ...this.failure } : { ok: true };
  }

  /** Writes the whole state to the state file and starts an empty journal after it, at once. */
  compact(): void {
    if (!this.hub) return;
    ++this.generation;
    // Whatever a background compaction held is in this state too; what it wrote of the bar
    // logs may lie past what the copy knows of, so the copy starts over.
    this.held = undefined;
    if (this.compacting) this.barLog.lost();
    const { state, bars } = this.compactedState(this.hub);
    try {
      this.swapJournal(runAtOnce(compaction(this.dir, state, [], blockingDisk(this.io), this.io, bars)));
    } catch (err) {
      this.barLog.lost();
      throw err;
    }
    this.barLog.taken(bars);
  }

  /** The state a compaction writes: each series' latest bar in it, the bars before in the copy. */
  private compactedState(hub: Hub): { state: HubStateTexts; bars: BarLogWrite } {
    this.barWrites++;
    const bars = this.barLog.write(hub.barCopy);
    return { state: { ...hub.exportStateTexts('latest'), barLog: bars.ref }, bars };
  }

  /** Resolves once no background compaction is in flight. */
  async settled(): Promise<void> {
    await this.compacting;
  }

  /**
   * The same compaction beside the journal: events go on into the current journal and are held
   * for the new one, and a compaction at close or a failure meanwhile makes this one stale.
   */
  private compactInBackground(): void {
    if (!this.hub) return;
    const generation = ++this.generation;
    const held: string[] = [];
    this.held = held;
    const current = () => generation === this.generation && this.fd !== undefined;
    const { state, bars } = this.compactedState(this.hub);
    const steps = compaction(this.dir, state, held, backgroundDisk, this.io, bars);
    const write = this.barWrites;
    let done = false;
    this.compacting = runInBackground(steps, current, (journal) => {
      this.held = undefined;
      this.swapJournal(journal);
      this.barLog.taken(bars);
      done = true;
    })
      .finally(() => {
        // Dropped or failed after writing some of the copy: unless a compaction since started
        // the copy over (it saw this one in flight), the next one must.
        if (!done && write === this.barWrites) this.barLog.lost();
      })
      .catch((err: unknown) => {
        // One overtaken meanwhile (by a compaction at close, or a failure) is moot, and may
        // have failed only because the one that overtook it removed its copy of the bars.
        if (generation !== this.generation) return;
        this.held = undefined;
        // A day of bars dropped while its pieces were written (a new day) is no fault: the next
        // event starts a compaction of the bars as they are then.
        if (err instanceof BarLogChanged) return this.log.info({ err }, 'compaction overtaken by the bars');
        this.lines = 0;
        this.options.onError?.(err as Error);
        // The journal still holds every event; the next compaction tries again.
        this.log.error({ err, dir: this.dir }, 'compaction failed; the journal keeps every event');
      })
      .finally(() => {
        this.compacting = undefined;
      });
  }

  /** Puts the new journal in place of the old one, appends to it from now on, and makes that durable. */
  private swapJournal({ fd, lines, unsynced }: CompactedJournal): void {
    renameSync(join(this.dir, `${JOURNAL_FILE}.tmp`), join(this.dir, JOURNAL_FILE));
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = fd;
    this.lines = lines;
    this.dirty = unsynced;
    syncDir(this.dir);
  }

  private sync(): void {
    if (!this.dirty || this.fd === undefined) return;
    try {
      this.io.sync(this.fd);
      this.dirty = false;
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /**
   * A write or sync failed: events from now on (and, for a failed sync, some already sent) are
   * not on disk. The mark goes first, before the event is sent; then writing waits for a retry.
   */
  private fail(err: Error, seq?: number): void {
    this.options.onError?.(err);
    ++this.generation;
    this.held = undefined;
    try {
      markLost(this.dir, (path) => this.io.unlink(path));
    } catch (markErr) {
      (this.options.onFatal ?? this.exit)(markErr as Error);
      return;
    } finally {
      // Nothing more goes into this file (a compaction writes a new one), so an error closing
      // it changes nothing; it must not escape into the hub, which is sending the event.
      const fd = this.fd;
      this.fd = undefined;
      try {
        if (fd !== undefined) closeSync(fd);
      } catch (closeErr) {
        this.log.warn({ err: closeErr, dir: this.dir }, 'could not close the failed journal file');
      }
    }
    if (this.failure) return this.scheduleRetry();
    this.failure = { error: errorText(err), since: new Date(this.scheduler.now()).toISOString() };
    this.log.error(
      { err, dir: this.dir, seq },
      'journal write failed; serving goes on, but these events are not on disk. Free space in ' +
        'the data directory (or fix the device): writing resumes by itself, and a restart ' +
        'before then starts a new epoch (clients get a fresh snapshot)',
    );
    this.scheduleRetry();
  }

  private readonly exit = (err: Error): void => {
    this.log.fatal(
      { err, dir: this.dir },
      'journal cannot be written and the data directory cannot be marked as missing events; ' +
        'exiting so that no client is sent a state a restart would not have',
    );
    process.exit(70);
  };

  private scheduleRetry(): void {
    this.retry?.unsubscribe();
    const waitMs = Math.min((this.options.retryMs ?? 1000) * 2 ** this.attempts, MAX_RETRY_MS);
    this.retry = timer(waitMs, this.scheduler).subscribe(() => this.recover());
  }

  /** Tries to put the whole state back on disk; on success the journal goes on after it. */
  private recover(): void {
    try {
      this.compact();
      this.markIntact();
    } catch (err) {
      this.options.onError?.(err as Error);
      this.attempts++;
      this.log.warn(
        { err, dir: this.dir, attempt: this.attempts },
        'journal still cannot be written; retrying',
      );
      this.scheduleRetry();
      return;
    }
    this.log.info(
      { dir: this.dir, seq: this.hub?.seq, failedSince: this.failure?.since, attempts: this.attempts + 1 },
      'journal writable again; the whole state is on disk and journaling goes on',
    );
    this.failure = undefined;
    this.attempts = 0;
  }

  private stop(): void {
    this.restores?.unsubscribe();
    this.timer?.unsubscribe();
    this.retry?.unsubscribe();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.hub = undefined;
  }

  /** Compacts (so a restart reads one file), closes and frees the directory; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== undefined || this.failure) {
      try {
        // Everything is synced now: the mark names no boot, so a reboot after this loses nothing.
        this.compact();
        this.markIntact();
      } catch (err) {
        this.log.error(
          { err, dir: this.dir },
          this.failure
            ? 'final compaction failed; the next start begins a new epoch'
            : 'final compaction failed; the journal still holds every event',
        );
      }
    }
    this.stop();
    this.unlock();
  }
}
