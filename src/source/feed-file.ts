import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import { parseQuoteLine } from '../parse/quote-line.ts';
import { FrameAssembler } from './frame-assembler.ts';
import type { Frame } from './frame.ts';

// A symbol and at most part of a price: the start of a ticker line whose end was lost.
const CUT_TICKER = /^[A-Z][A-Z0-9-]*(\s+[0-9][0-9,.]*)?\s*$/;

/**
 * Splits saved-feed text (`@@`-framed page text or an NDJSON recording) into frames. A last
 * line cut mid-quote (a truncated file) is skipped with a log line instead of being parsed.
 */
export const splitFrames = (text: string, file: string, log?: Logger): Frame[] => {
  const assembler = new FrameAssembler(file, log);
  const lines = text.split(/\r?\n/);
  // A file that ends in a newline splits into a last empty string; anything else was cut.
  const cut = lines.pop()!;
  const frames = lines.flatMap((line) => assembler.push(line));
  if (cut !== '') {
    if (parseQuoteLine(cut, 0)?.type === 'rejected' || CUT_TICKER.test(cut))
      log?.warn(
        { file, line: assembler.line + 1, text: cut },
        'file ends mid-line (truncated?); last line skipped',
      );
    else frames.push(...assembler.push(cut));
  }
  return [...frames, ...assembler.end()];
};

const GZIP_MAGIC = [0x1f, 0x8b];

/** A feed file's text; gzip is read transparently, and a cut gzip yields what it holds. */
export const readFeedText = (path: string, log?: Logger): string => feedText(readFileSync(path), path, log);

/** A feed's bytes (a file's, or all of stdin) as text, by their content: gzip or not. */
export const feedText = (bytes: Buffer, origin: string, log?: Logger): string =>
  // Editors on Windows may start a file with a byte-order mark, which would hide a first `@@`.
  decode(bytes, origin, log).replace(/^\uFEFF/, '');

const decode = (bytes: Buffer, origin: string, log?: Logger): string => {
  if (bytes[0] !== GZIP_MAGIC[0] || bytes[1] !== GZIP_MAGIC[1]) return bytes.toString('utf8');
  try {
    return gunzipSync(bytes).toString('utf8');
  } catch (err) {
    log?.warn({ file: origin, err }, 'gzip file is cut or damaged; replaying the part that decompresses');
    return gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
  }
};

/**
 * Reads a saved feed: a file (page text, `@@` frames or NDJSON, optionally gzipped) or a
 * directory of such files in name order. In a directory, a file that cannot be read is
 * logged and skipped; a top-level path that cannot be read throws.
 */
export const readFeed = (path: string, log?: Logger): Frame[] => {
  if (!statSync(path).isDirectory()) return splitFrames(readFeedText(path, log), path, log);
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.') && entry.isFile())
    .map((entry) => entry.name)
    .sort()
    .flatMap((name) => {
      const file = join(path, name);
      try {
        return splitFrames(readFeedText(file, log), file, log);
      } catch (err) {
        log?.warn({ file, err }, 'cannot read capture file; skipped');
        return [];
      }
    });
};
