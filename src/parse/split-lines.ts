import { StringDecoder } from 'node:string_decoder';
import { Observable, type OperatorFunction } from 'rxjs';

/** Most text held waiting for a newline; past it, the held text is passed on in pieces of this size. */
export const MAX_LINE_LENGTH = 16 * 1024 * 1024;

const withoutCr = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);

/**
 * Turns a stream of chunks into whole lines (without `\n` or `\r\n`), however the chunks cut
 * them: a UTF-8 character split across two buffers is decoded whole, and a last line with
 * no newline is emitted when the input completes. A stream that never sends a newline is
 * passed on in `maxLength` pieces (the parser then reports them) instead of growing memory.
 */
export const splitLines =
  (maxLength = MAX_LINE_LENGTH): OperatorFunction<Buffer | string, string> =>
  (chunks) =>
    new Observable<string>((subscriber) => {
      const decoder = new StringDecoder('utf8');
      let rest = '';
      const emit = (text: string) => {
        // Only the new text is split: re-splitting what is held would be quadratic on long lines.
        const parts = text.split('\n');
        parts[0] = rest + parts[0]!;
        rest = parts.pop()!;
        for (const line of parts) subscriber.next(withoutCr(line));
        while (rest.length > maxLength) {
          subscriber.next(rest.slice(0, maxLength));
          rest = rest.slice(maxLength);
        }
      };
      return chunks.subscribe({
        next: (chunk) => emit(typeof chunk === 'string' ? chunk : decoder.write(chunk)),
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          emit(decoder.end());
          if (rest !== '') subscriber.next(withoutCr(rest));
          subscriber.complete();
        },
      });
    });
