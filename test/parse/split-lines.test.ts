import fc from 'fast-check';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { parseText } from '../../src/parse/parse-text.ts';
import { splitLines } from '../../src/parse/split-lines.ts';
import { fixture } from '../helpers.ts';

const lines = (chunks: (Buffer | string)[]) => lastValueFrom(from(chunks).pipe(splitLines(), toArray()));

describe('splitLines', () => {
  it('joins a line cut across chunks and strips CRLF', async () => {
    expect(await lines(['AIRLINK 80.60 Incr', 'eased By ▲ 1.19 (1.5%)\r\nBOP', ' 5.26\n'])).toEqual([
      'AIRLINK 80.60 Increased By ▲ 1.19 (1.5%)',
      'BOP 5.26',
    ]);
  });

  it('decodes a UTF-8 character split between two buffers', async () => {
    const bytes = Buffer.from('By ▲ 1.19\n');
    const cut = bytes.indexOf(0xe2) + 1;
    expect(await lines([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(['By ▲ 1.19']);
  });

  it('passes on a run without newlines in bounded pieces instead of holding it whole', async () => {
    const pieces = await lastValueFrom(from(['abcd', 'efgh', 'ij\nk']).pipe(splitLines(3), toArray()));
    // What is held never passes the bound; a line that ends in the chunk that completes it goes whole.
    expect(pieces).toEqual(['abc', 'def', 'ghij', 'k']);
  });

  it('emits a last line that has no newline', async () => {
    expect(await lines(['a\nb'])).toEqual(['a', 'b']);
  });

  it('gives the same events however a feed is cut into byte chunks', async () => {
    const text = fixture('two-frames.txt').replace(/\n/g, '\r\n');
    const bytes = Buffer.from(text);
    const whole = parseText(text);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.nat({ max: bytes.length }), { maxLength: 30 }), async (cuts) => {
        const bounds = [0, ...cuts.sort((a, b) => a - b), bytes.length];
        const chunks = bounds.slice(1).map((end, i) => bytes.subarray(bounds[i], end));
        expect(parseText((await lines(chunks)).join('\n'))).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });
});
