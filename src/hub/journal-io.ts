import { fdatasyncSync, fstatSync, ftruncateSync, unlinkSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * The calls the journal makes for each event, so tests can inject the faults a disk has
 * (EIO, a short write, an unlink that fails) without touching node:fs for everyone.
 */
export interface JournalIo {
  /** Writes `data` at the file's position; returns the bytes written (fewer on a short write). */
  write(fd: number, data: string | Uint8Array): number;
  /** fdatasync. */
  sync(fd: number): void;
  /** Removes a file (the intact mark). */
  unlink(path: string): void;
}

/** The journal's calls as node:fs makes them. */
export const nodeIo: JournalIo = {
  // The same call twice: writeSync has one overload for text and one for bytes, not a union.
  write: (fd, data) => (typeof data === 'string' ? writeSync(fd, data) : writeSync(fd, data)),
  sync: (fd) => fdatasyncSync(fd),
  unlink: (path) => unlinkSync(path),
};

/** A write that took fewer bytes than it was given: an error, like the full disk it usually means. */
const shortWrite = (written: number, bytes: number): Error =>
  Object.assign(new Error(`short write: ${written} of ${bytes} bytes (is the disk full?)`), {
    code: 'ESHORT',
  });

/** Writes `text` whole, or throws: a short write is an error like any other. */
export const writeWhole = (io: JournalIo, fd: number, text: string | Uint8Array): void => {
  const written = io.write(fd, text);
  const bytes = Buffer.byteLength(text);
  if (written !== bytes) throw shortWrite(written, bytes);
};

/**
 * Writes `chunk` whole at the handle's position, or throws: a full disk takes the part that fits
 * and reports the rest only on the next write, so a short last chunk would otherwise leave a
 * cut-off file that looks finished.
 */
export const writeWholeAsync = async (
  file: Pick<FileHandle, 'write'>,
  chunk: string | Uint8Array,
): Promise<void> => {
  const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  const { bytesWritten } = await file.write(bytes);
  if (bytesWritten !== bytes.byteLength) throw shortWrite(bytesWritten, bytes.byteLength);
};

/**
 * Appends `line` whole, or cuts back the part that went in and throws, so the file only ever
 * holds whole lines. `onCutFailed` hears of a cut that failed: the part then stays at the end,
 * where a reader skips it as a torn tail, as long as nothing is appended after it.
 */
export const appendWhole = (
  io: JournalIo,
  fd: number,
  line: string,
  onCutFailed: (err: unknown) => void,
): void => {
  const written = io.write(fd, line);
  const bytes = Buffer.byteLength(line);
  if (written === bytes) return;
  try {
    ftruncateSync(fd, fstatSync(fd).size - written);
  } catch (err) {
    onCutFailed(err);
  }
  throw shortWrite(written, bytes);
};

/** An error as `/healthz` shows it: its code, then its message. */
export const errorText = (err: unknown): string => {
  const { code, message } = err as NodeJS.ErrnoException;
  if (typeof message !== 'string') return String(err);
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
};
