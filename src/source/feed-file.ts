import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Frame } from './frame.ts';

const MARKER = /^@@(.*)$/;

/**
 * Splits saved-feed text into frames: a line `@@ <ISO time>` starts a frame captured at
 * that time; text before the first marker is a frame without a time. A marker whose time
 * does not parse is logged and its frame kept, without a time.
 */
export const splitFrames = (text: string, file: string, log?: Logger): Frame[] => {
  const frames: Frame[] = [];
  let lines: string[] = [];
  let capturedAt: Date | undefined;
  let startLine = 1;
  const flush = () => {
    const body = lines.join('\n');
    if (body.trim() !== '')
      frames.push({ text: body, ...(capturedAt && { capturedAt }), origin: `${file}:${startLine}` });
  };
  const all = text.split(/\r?\n/);
  for (let i = 0; i < all.length; i++) {
    const m = MARKER.exec(all[i]!);
    if (!m) {
      lines.push(all[i]!);
      continue;
    }
    flush();
    lines = [];
    startLine = i + 1;
    const stamp = m[1]!.trim();
    const time = new Date(stamp);
    capturedAt = Number.isNaN(time.getTime()) ? undefined : time;
    if (!capturedAt)
      log?.warn(
        { file, line: i + 1, marker: all[i] },
        'frame marker has no valid ISO-8601 time; frame kept without a time',
      );
  }
  flush();
  return frames;
};

/** Reads a saved feed from a text file or a directory of capture files (name order). */
export const readFeed = (path: string, log?: Logger): Frame[] => {
  if (!statSync(path).isDirectory()) return splitFrames(readFileSync(path, 'utf8'), path, log);
  return readdirSync(path)
    .filter((name) => !name.startsWith('.'))
    .sort()
    .flatMap((name) => splitFrames(readFileSync(join(path, name), 'utf8'), join(path, name), log));
};
