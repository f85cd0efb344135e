import { StringDecoder } from 'node:string_decoder';
import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Turns a stream of chunks into whole lines (without `\n` or `\r\n`), however the chunks cut
 * them: a UTF-8 character split across two buffers is decoded whole, and a last line with
 * no newline is emitted when the input completes.
 */
export const splitLines = (): OperatorFunction<Buffer | string, string> => (chunks) =>
  new Observable<string>((subscriber) => {
    const decoder = new StringDecoder('utf8');
    let rest = '';
    const emit = (text: string) => {
      const parts = (rest + text).split('\n');
      rest = parts.pop()!;
      for (const line of parts) subscriber.next(line.endsWith('\r') ? line.slice(0, -1) : line);
    };
    return chunks.subscribe({
      next: (chunk) => emit(typeof chunk === 'string' ? chunk : decoder.write(chunk)),
      error: (err: unknown) => subscriber.error(err),
      complete: () => {
        emit(decoder.end());
        if (rest !== '') subscriber.next(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
        subscriber.complete();
      },
    });
  });
