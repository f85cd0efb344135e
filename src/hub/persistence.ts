import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { TickstreamError } from '../errors.ts';
import { newEpoch } from './epoch.ts';
import { Hub, type HubOptions, type HubState } from './hub.ts';
import { lockDir } from './dir-lock.ts';
import { currentBoot, lossReason } from './intact-mark.ts';
import { JOURNAL_FILE, Journal, type PersistOptions } from './journal.ts';
import { readJournal } from './journal-file.ts';
import type { HubConfig } from './options.ts';
import type { LoggedBars } from './bar-log-copy.ts';
import { BarStore } from './bar-store.ts';
import { readPieces } from './bar-log-files.ts';
import { readState } from './state-file.ts';
import { runAtOnce } from './steps.ts';

/** What a compaction (or the intact mark) writes before renaming it into place. */
const LEFTOVER = /^(state\.json|journal\.ndjson|intact)(\..+)?\.tmp$/;

/**
 * Restores into `hub` what a data directory holds: the compacted state, then the journal's later
 * events applied as live ones are. Returns the bar copy the hub's day logs now begin with, for
 * the journal to go on from; undefined for a new directory. When the directory may lack events
 * that were sent (no intact mark: a journal write failed and the directory was not whole again
 * before the stop; or the machine rebooted while events waited for fsync) the same state comes
 * back under a new epoch: resuming a client that saw the lost events onto it would say
 * `recovered:true` about a state it never had, so it gets a snapshot.
 */
const loadInto = (
  dir: string,
  hub: Hub,
  log: Logger,
  boot: string | undefined,
  barDays: number,
): { copy?: LoggedBars } | undefined => {
  const saved = readState(dir, log);
  const { state, barsLost, copy, logged } = saved ? withBarLog(dir, saved, barDays) : {};
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
  if (state) hub.restore(state, runAtOnce(hub.partsOf(state, logged)));
  else hub.restore({ epoch: journal!.header.epoch, seq: 0, quotes: [], headlines: [], history: [] });
  if (journal && journal.header.epoch !== hub.epoch) {
    log.warn(
      { journal: journal.header.epoch, state: hub.epoch },
      'journal is from another epoch; ignoring it',
    );
  } else if (journal) {
    // Records at or below the state's seq were compacted just before a crash: skipped by accept.
    for (const { at, m } of journal.records) hub.accept(m, at);
  }
  const reason =
    journal?.damaged !== undefined
      ? `journal damaged at ${journal.damaged}`
      : barsLost !== undefined
        ? `bars unreadable: ${barsLost}`
        : lossReason(dir, boot);
  if (reason === undefined) return copy ? { copy } : {};
  const epoch = newEpoch();
  log.warn(
    { dir, reason, lostEpoch: hub.epoch, seq: hub.seq, epoch },
    'the journal may lack events that clients were sent; continuing its state in a new epoch, ' +
      'so clients get a fresh snapshot',
  );
  // Put back in another order than the copy's: the journal's copy of the bars starts over.
  hub.restore({ ...hub.exportState(), epoch, history: [], historyAt: [] });
  return {};
};

/**
 * The state, and a store of `barDays` holding the bars of the copy it names (`barLog`), to which
 * its own latest ones are added as it is restored. Bars that cannot be read (a piece gone or
 * garbled) are reported in `barsLost`: the state then goes on without them in a new epoch, since
 * a client resuming across it would miss their changes.
 */
const withBarLog = (
  dir: string,
  state: HubState,
  barDays: number,
): { state: HubState; barsLost?: string; copy?: LoggedBars; logged?: BarStore } => {
  const { barLog, ...rest } = state;
  if (!barLog) return { state };
  const logged = new BarStore(barDays);
  const read = readPieces(dir, barLog, logged);
  if (!read.ok) return { state: rest, barsLost: read.problem };
  return { state: rest, logged, ...(read.exact && { copy: read }) };
};

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
    const journal = new Journal(dir, log, persist, unlock);
    // The journal records nothing until it starts: replaying its own events does not write them again.
    const hub = new Hub({ ...options, record: journal.append });
    const loaded = loadInto(dir, hub, log, persist.boot ?? currentBoot(), options.barDays ?? 0);
    if (loaded)
      log.info({ dir, epoch: hub.epoch, seq: hub.seq, quotes: hub.quoteCount }, 'restored hub state');
    else log.info({ dir, epoch: hub.epoch }, 'new data directory; starting a new epoch');
    journal.start(hub, loaded?.copy);
    return { hub, journal };
  } catch (cause) {
    if (cause instanceof TickstreamError) throw cause;
    throw new TickstreamError('data_dir_unusable', `--data-dir ${dir}: ${(cause as Error).message}`, {
      cause,
    });
  }
};

/** The hub a config asks for: persistent when it names a data directory, else in memory only. */
export const openHub = (
  config: HubConfig,
  log: Logger,
  onJournalError?: (err: Error) => void,
): { hub: Hub; journal?: Journal } => {
  const options: HubOptions = {
    history: config.history,
    headlineCount: config.headlineCount,
    barDays: config.barDays,
  };
  if (config.dataDir === undefined) return { hub: new Hub(options) };
  // Compacting once per history's worth of events writes each event about twice in all.
  const compactEvery = Math.max(10_000, config.history.size);
  return openPersistentHub(options, config.dataDir, log, {
    fsyncMs: config.fsyncMs ?? 1000,
    compactEvery,
    ...(onJournalError && { onError: onJournalError }),
  });
};
