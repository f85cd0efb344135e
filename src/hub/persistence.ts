import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { asyncScheduler, interval, type SchedulerLike, type Subscription } from 'rxjs';
import type { HubMessage } from '../protocol/messages.ts';
import { TickstreamError } from '../errors.ts';
import { Hub, type HubOptions, type HubState } from './hub.ts';
import { lockDir } from './dir-lock.ts';
import { headerLine, journalLine, readJournal, readTextIfExists } from './journal-file.ts';
import type { HubConfig } from './options.ts';

const STATE_FILE = 'state.json';
const JOURNAL_FILE = 'journal.ndjson';

/** How a data directory is kept. */
export interface PersistOptions {
  /** Longest time (ms) a journaled event waits for fsync; 0 syncs every event. */
  fsyncMs: number;
  /** Journal lines after which the state is compacted into the state file. */
  compactEvery: number;
  scheduler?: SchedulerLike;
}

/** Writes a file so that a crash leaves either the old or the new one, never a mix. */
const writeAtomic = (dir: string, name: string, text: string): void => {
  const tmp = join(dir, `${name}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  // The rename itself is only durable once the directory is synced.
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
};

/** The last compacted state, or undefined; an unreadable one is moved aside and reported. */
const readState = (dir: string, log: Logger): HubState | undefined => {
  const file = join(dir, STATE_FILE);
  const text = readTextIfExists(file);
  if (text === undefined) return undefined;
  try {
    const state = JSON.parse(text) as HubState;
    if (typeof state.epoch === 'string' && Number.isInteger(state.seq) && Array.isArray(state.quotes))
      return state;
  } catch {
    // Reported below, with the file kept for inspection.
  }
  const aside = `${file}.corrupt-${Date.now()}`;
  renameSync(file, aside);
  log.error({ file, movedTo: aside }, 'state file is unreadable; starting a new epoch');
  return undefined;
};

/**
 * What a data directory holds: the compacted state with the journal's later events applied
 * (through a scratch hub, so replay is the same code as live). Undefined for a new directory.
 */
export const loadState = (dir: string, options: HubOptions, log: Logger): HubState | undefined => {
  const state = readState(dir, log);
  const journal = readJournal(join(dir, JOURNAL_FILE), log);
  if (!state && !journal) return undefined;
  if (!state && journal!.header.seq !== 0) {
    // The journal only holds what came after a state that is gone: continuing its epoch would
    // reuse seqs, so clients must start over.
    log.warn(
      { dir, epoch: journal!.header.epoch },
      'journal continues a missing state file; starting a new epoch',
    );
    return undefined;
  }
  const scratch = new Hub({ ...options, record: undefined });
  if (state) scratch.restore(state);
  else scratch.restore({ epoch: journal!.header.epoch, seq: 0, quotes: [], headlines: [], history: [] });
  if (journal && journal.header.epoch !== scratch.epoch) {
    log.warn(
      { journal: journal.header.epoch, state: scratch.epoch },
      'journal is from another epoch; ignoring it',
    );
  } else if (journal) {
    // Records at or below the state's seq were compacted just before a crash: skipped by accept.
    for (const { at, m } of journal.records) scratch.accept(m, at);
  }
  return scratch.exportState();
};

/**
 * The hub's append-only journal in a data directory: each event is written (one write, before
 * any client sees it) so a kill -9 loses nothing; fsync runs at most `fsyncMs` after a write,
 * bounding what an OS crash can lose; every `compactEvery` events the whole state is written
 * to `state.json` and the journal starts again.
 */
export class Journal {
  private fd: number | undefined;
  private hub: Hub | undefined;
  private lines = 0;
  private dirty = false;
  private timer: Subscription | undefined;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
    private readonly options: PersistOptions,
    private readonly unlock: () => void = () => {},
  ) {}

  /** The hub's recorder: writes one event. */
  readonly append = (message: HubMessage, at: number): void => {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, journalLine(message, at));
      if (this.options.fsyncMs === 0) fdatasyncSync(this.fd);
      else this.dirty = true;
      if (++this.lines >= this.options.compactEvery) this.compact();
    } catch (err) {
      this.fail(err);
    }
  };

  /** Starts journaling `hub`: writes its current state, then a fresh journal. */
  start(hub: Hub): void {
    this.hub = hub;
    this.compact();
    if (this.options.fsyncMs > 0)
      this.timer = interval(this.options.fsyncMs, this.options.scheduler ?? asyncScheduler).subscribe(() =>
        this.sync(),
      );
  }

  /** Writes the whole state to the state file and starts an empty journal after it. */
  compact(): void {
    if (!this.hub) return;
    const state = this.hub.exportState();
    writeAtomic(this.dir, STATE_FILE, JSON.stringify(state));
    // A crash from here until the new header is written leaves old records at or below
    // state.seq, which loading skips.
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = openSync(join(this.dir, JOURNAL_FILE), 'w');
    writeSync(this.fd, headerLine({ epoch: state.epoch, seq: state.seq }));
    fsyncSync(this.fd);
    this.lines = 0;
    this.dirty = false;
  }

  private sync(): void {
    if (!this.dirty || this.fd === undefined) return;
    try {
      fdatasyncSync(this.fd);
      this.dirty = false;
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    this.log.error({ err, dir: this.dir }, 'journal write failed; persistence stops, serving goes on');
    this.stop();
  }

  private stop(): void {
    this.timer?.unsubscribe();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.hub = undefined;
  }

  /** Compacts (so a restart reads one file), closes and frees the directory; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== undefined) {
      try {
        this.compact();
      } catch (err) {
        this.log.error(
          { err, dir: this.dir },
          'final compaction failed; the journal still holds every event',
        );
      }
    }
    this.stop();
    this.unlock();
  }
}

/**
 * A hub that persists to `dir`: it continues the epoch, seq, snapshot and history the
 * directory holds (a new epoch for a new directory) and journals every event from now on.
 */
export const openPersistentHub = (
  options: HubOptions,
  dir: string,
  log: Logger,
  persist: PersistOptions,
): { hub: Hub; journal: Journal } => {
  try {
    mkdirSync(dir, { recursive: true });
    const unlock = lockDir(dir);
    const state = loadState(dir, options, log);
    const journal = new Journal(dir, log, persist, unlock);
    const hub = new Hub({ ...options, record: journal.append });
    if (state) {
      hub.restore(state);
      log.info(
        { dir, epoch: state.epoch, seq: state.seq, quotes: state.quotes.length },
        'restored hub state',
      );
    } else log.info({ dir, epoch: hub.epoch }, 'new data directory; starting a new epoch');
    journal.start(hub);
    return { hub, journal };
  } catch (cause) {
    if (cause instanceof TickstreamError) throw cause;
    throw new TickstreamError('data_dir_unusable', `--data-dir ${dir}: ${(cause as Error).message}`, {
      cause,
    });
  }
};

/** The hub a config asks for: persistent when it names a data directory, else in memory only. */
export const openHub = (config: HubConfig, log: Logger): { hub: Hub; journal?: Journal } => {
  const options: HubOptions = { history: config.history, headlineCount: config.headlineCount };
  if (config.dataDir === undefined) return { hub: new Hub(options) };
  // Compacting once per history's worth of events writes each event about twice in all.
  const compactEvery = Math.max(10_000, config.history.size);
  return openPersistentHub(options, config.dataDir, log, { fsyncMs: config.fsyncMs ?? 1000, compactEvery });
};
