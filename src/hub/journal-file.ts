import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { hubMessageProblem, type HubMessage } from '../protocol/messages.ts';
import { eventJson } from './event-json.ts';

/** What `read` returns, or undefined when there is no such file (other errors throw). */
const ifExists = <T>(read: () => T): T | undefined => {
  try {
    return read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};

/** A file's text, or undefined when there is no such file (other errors throw). */
export const readTextIfExists = (file: string): string | undefined =>
  ifExists(() => readFileSync(file, 'utf8'));

/** A file's bytes, or undefined when there is no such file (other errors throw). */
export const readBytesIfExists = (file: string): Buffer | undefined => ifExists(() => readFileSync(file));

/** The first line of a journal: the epoch it belongs to and the seq it continues from. */
export interface JournalHeader {
  epoch: string;
  seq: number;
}

/** One journaled event and the hub-clock time it was recorded at. */
export interface JournalRecord {
  at: number;
  m: HubMessage;
}

/** A journal as read back: the header and every whole record before any torn tail. */
export interface JournalContents {
  header: JournalHeader;
  records: JournalRecord[];
  /**
   * Set when a bad line had whole records after it (damage, not a write cut short): events
   * after it were written, so they may have been sent, and are lost.
   */
  damaged?: string;
}

/** One journal line for an event. */
export const journalLine = (message: HubMessage, at: number): string =>
  `{"at":${at},"m":${eventJson(message)}}\n`;

/** The header line of a journal. */
export const headerLine = (header: JournalHeader): string => `${JSON.stringify(header)}\n`;

const isHeader = (x: unknown): x is JournalHeader =>
  typeof x === 'object' &&
  x !== null &&
  typeof (x as JournalHeader).epoch === 'string' &&
  typeof (x as JournalHeader).seq === 'number';

/** What keeps `x` from being the record that continues the journal at `seq`, if anything. */
const recordProblem = (x: unknown, seq: number): string | undefined => {
  const r = x as JournalRecord;
  if (typeof x !== 'object' || x === null || typeof r.at !== 'number' || typeof r.m !== 'object')
    return 'not a journal record';
  if (r.m?.seq !== seq) return `seq ${String(r.m?.seq)} where ${seq} was next`;
  return hubMessageProblem(r.m);
};

const parse = (line: string): unknown => {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
};

/**
 * Reads a journal. The first line that is cut short (no newline), does not parse, is not a
 * valid event or breaks the seq chain ends it: that line and the rest are skipped, with a log
 * line. At the end of the file, that is a torn tail: an event is written whole before anyone
 * sees it, so nothing after a cut was ever sent. With whole lines after it, the journal is
 * damaged (`damaged` says how), and what follows may have been sent.
 */
export const readJournal = (file: string, log: Logger): JournalContents | undefined => {
  const text = readTextIfExists(file);
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  // The piece after the last newline is empty for a whole file, else a line cut short.
  const cut = lines.pop()!;
  const header = parse(lines[0] ?? '');
  if (!isHeader(header)) {
    log.warn({ file, bytes: text.length }, 'journal has no valid header line; ignoring it');
    return undefined;
  }
  const records: JournalRecord[] = [];
  let expected = header.seq + 1;
  for (let i = 1; i < lines.length; i++) {
    const record = parse(lines[i]!);
    const problem = record === undefined ? 'not JSON' : recordProblem(record, expected);
    if (problem !== undefined) {
      const skipped = lines.slice(i).join('\n').length + cut.length;
      const at = { file, line: i + 1, problem, bytesSkipped: skipped, lastSeq: expected - 1 };
      if (i === lines.length - 1 && cut === '') {
        log.warn(at, 'journal tail is torn; skipping it and continuing from the last whole event');
        return { header, records };
      }
      log.error(at, 'journal is damaged; skipping the rest and continuing from the last good event');
      return { header, records, damaged: `line ${i + 1}: ${problem}` };
    }
    records.push(record as JournalRecord);
    expected++;
  }
  if (cut !== '')
    log.warn(
      { file, line: lines.length + 1, bytesSkipped: cut.length, lastSeq: expected - 1 },
      'journal ends in a partial line; skipping it and continuing from the last whole event',
    );
  return { header, records };
};
