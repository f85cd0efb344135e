import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  promises as fsp,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { asyncScheduler, interval, type SchedulerLike, type Subscription } from 'rxjs';
import type { HubMessage } from '../protocol/messages.ts';
import { TickstreamError } from '../errors.ts';
import { unkeptEventJson } from './event-json.ts';
import { Hub, type HubOptions, type HubState } from './hub.ts';
import { lockDir } from './dir-lock.ts';
import { headerLine, journalLine, readJournal, readTextIfExists } from './journal-file.ts';
import type { HubConfig } from './options.ts';

const STATE_FILE = 'state.json';
const JOURNAL_FILE = 'journal.ndjson';
/** What a compaction writes before renaming it into place. */
const LEFTOVER = /^(state\.json|journal\.ndjson)(\..+)?\.tmp$/;
/** Numbers the state files being written, so no two compactions in one process share a name. */
let stateFiles = 0;

/** How a data directory is kept. */
export interface PersistOptions {
  /** Longest time (ms) a journaled event waits for fsync; 0 syncs every event. */
  fsyncMs: number;
  /** Journal lines after which the state is compacted into the state file. */
  compactEvery: number;
  scheduler?: SchedulerLike;
}

/** Makes renames in `dir` durable: a rename is only on disk once the directory is synced. */
const syncDir = (dir: string): void => {
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
};

const fdatasyncAsync = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));

const syncDirAsync = async (dir: string): Promise<void> => {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/** Events per piece of the state file: each piece is a millisecond or so of work. */
const CHUNK = 2000;

/**
 * The state file's text, in pieces. History events reuse the JSON they were sent to clients
 * as (a full history is ~18 MB), and a compaction beside the journal writes one piece per turn
 * of the event loop instead of building the whole text at once.
 */
function* stateChunks(state: HubState): Generator<string> {
  const { history, historyAt, ...rest } = state;
  yield JSON.stringify(rest).slice(0, -1);
  if (historyAt) {
    yield ',"historyAt":[';
    for (let i = 0; i < historyAt.length; i += CHUNK)
      yield (i > 0 ? ',' : '') + historyAt.slice(i, i + CHUNK).join(',');
    yield ']';
  }
  yield ',"history":[';
  for (let i = 0; i < history.length; i += CHUNK)
    yield (
      (i > 0 ? ',' : '') +
      history
        .slice(i, i + CHUNK)
        .map(unkeptEventJson)
        .join(',')
    );
  yield ']}';
}

/** Writes and syncs a file piece by piece, without blocking the event loop. */
const writeSynced = async (path: string, chunks: Iterable<string>): Promise<void> => {
  const file = await fsp.open(path, 'w');
  try {
    for (const chunk of chunks) await file.write(chunk);
    await file.sync();
  } finally {
    await file.close();
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
 * to `state.json` and the journal starts again after it.
 *
 * Compaction while serving runs beside the journal instead of stopping the loop (a full history
 * took ~100 ms to write and sync): the state as of seq S is written and synced in the
 * background while events go on into the current journal and are also held; then `state.json`
 * is replaced, and a new journal holding S's header and the held events replaces the old one.
 * A crash at any point leaves a state and a journal that together hold every event: before the
 * first rename the old pair, after it the new state and the old journal (whose records at or
 * below S loading skips), after the second the new pair.
 */
export class Journal {
  private fd: number | undefined;
  private hub: Hub | undefined;
  private lines = 0;
  private dirty = false;
  private timer: Subscription | undefined;
  private closed = false;
  /** Bumped by every compaction, so a background one overtaken by another is dropped. */
  private generation = 0;
  private compacting: Promise<void> | undefined;
  /** Journal lines written since the state being compacted in the background. */
  private held: string[] | undefined;

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
      const line = journalLine(message, at);
      writeSync(this.fd, line);
      this.held?.push(line);
      if (this.options.fsyncMs === 0) fdatasyncSync(this.fd);
      else this.dirty = true;
      if (++this.lines >= this.options.compactEvery && !this.compacting) this.compactInBackground();
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

  /** Writes the whole state to the state file and starts an empty journal after it, at once. */
  compact(): void {
    if (!this.hub) return;
    ++this.generation;
    const state = this.hub.exportState();
    const tmp = join(this.dir, `${STATE_FILE}.${process.pid}-${++stateFiles}.tmp`);
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, [...stateChunks(state)].join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.held = undefined;
    renameSync(tmp, join(this.dir, STATE_FILE));
    syncDir(this.dir);
    const journal = this.newJournal(state);
    fsyncSync(journal);
    this.swapJournal(journal, 0);
    syncDir(this.dir);
  }

  /** Resolves once no background compaction is in flight. */
  async settled(): Promise<void> {
    await this.compacting;
  }

  private compactInBackground(): void {
    if (!this.hub) return;
    const generation = ++this.generation;
    const state = this.hub.exportState();
    const tmp = join(this.dir, `${STATE_FILE}.${process.pid}-${++stateFiles}.tmp`);
    const held: string[] = [];
    this.held = held;
    // Overtaken by a compaction at close, or persistence stopped: this state is stale.
    const current = () => generation === this.generation && this.fd !== undefined;
    let journal: number | undefined;
    this.compacting = (async () => {
      await writeSynced(tmp, stateChunks(state));
      if (!current()) return;
      // In the same turn as the check: a compaction at close renaming its newer state meanwhile
      // must not be overwritten by this older one.
      renameSync(tmp, join(this.dir, STATE_FILE));
      await syncDirAsync(this.dir);
      if (!current()) return;
      // The new journal: the state's header and the lines held so far, synced off the loop; the
      // few that arrive meanwhile follow in the same turn as the swap, and the fsync timer covers them.
      const written = held.length;
      journal = this.newJournal(state, held.slice(0, written));
      await fdatasyncAsync(journal);
      if (!current()) return;
      writeSync(journal, held.slice(written).join(''));
      this.held = undefined;
      this.swapJournal(journal, held.length);
      journal = undefined;
      this.dirty = held.length > written;
      syncDir(this.dir);
    })()
      .catch((err: unknown) => {
        if (generation === this.generation) this.held = undefined;
        // The journal still holds every event; the next compaction tries again.
        this.log.error({ err, dir: this.dir }, 'compaction failed; the journal keeps every event');
        this.lines = 0;
      })
      .finally(() => {
        if (journal !== undefined) closeSync(journal);
        rmSync(tmp, { force: true });
        this.compacting = undefined;
      });
  }

  /** Opens `journal.ndjson.tmp` holding the header of `state` and `lines`; the caller syncs it. */
  private newJournal(state: HubState, lines: readonly string[] = []): number {
    const fd = openSync(join(this.dir, `${JOURNAL_FILE}.tmp`), 'w');
    writeSync(fd, headerLine({ epoch: state.epoch, seq: state.seq }) + lines.join(''));
    return fd;
  }

  /** Puts the new journal, holding `lines` events, in place of the old one and appends to it from now on. */
  private swapJournal(fd: number, lines: number): void {
    renameSync(join(this.dir, `${JOURNAL_FILE}.tmp`), join(this.dir, JOURNAL_FILE));
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = fd;
    this.lines = lines;
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
    // Files a crash left half-written during a compaction: never read, so dropped.
    for (const name of readdirSync(dir)) if (LEFTOVER.test(name)) rmSync(join(dir, name), { force: true });
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
