import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { HubMessage } from '../protocol/messages.ts';
import { eventJson } from './event-json.ts';

/** A file's text, or undefined when there is no such file (other errors throw). */
export const readTextIfExists = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};

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

const isRecord = (x: unknown): x is JournalRecord => {
  const r = x as JournalRecord;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof r.at === 'number' &&
    typeof r.m === 'object' &&
    r.m !== null &&
    Number.isInteger(r.m.seq) &&
    (r.m.type === 'quote' || r.m.type === 'headline' || r.m.type === 'bars')
  );
};

const parse = (line: string): unknown => {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
};

/**
 * Reads a journal. The first line that is cut short (no newline), does not parse or breaks
 * the seq chain ends it: that line and the rest are a torn tail, logged and skipped, since
 * an event is written whole before anyone sees it and so nothing after a cut was ever sent.
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
    if (!isRecord(record) || record.m.seq !== expected) {
      const skipped = lines.slice(i).join('\n').length + cut.length;
      log.warn(
        { file, line: i + 1, bytesSkipped: skipped, lastSeq: expected - 1 },
        'journal tail is torn; skipping it and continuing from the last whole event',
      );
      return { header, records };
    }
    records.push(record);
    expected++;
  }
  if (cut !== '')
    log.warn(
      { file, line: lines.length + 1, bytesSkipped: cut.length, lastSeq: expected - 1 },
      'journal ends in a partial line; skipping it and continuing from the last whole event',
    );
  return { header, records };
};
