import type { Logger } from 'pino';
import { asyncScheduler, Observable, repeat, retry, timer, type SchedulerLike } from 'rxjs';
import type { Frame } from './frame.ts';
import { htmlToText } from './html-text.ts';

/** How often to fetch, how far to back off, and on which clock. */
export interface PollOptions {
  pollMs: number;
  /** Longest wait between failed fetches (the backoff doubles up to here). */
  maxBackoffMs?: number;
  /** Largest page body read; a larger one is a failed fetch. */
  maxBytes?: number;
  scheduler?: SchedulerLike;
}

/** A ticker page is tens of kilobytes; a URL that serves far more is a mistake, not a feed. */
export const MAX_PAGE_BYTES = 8 * 1024 * 1024;

/** The body as text, read as it arrives and refused once it passes `maxBytes`. */
const readCapped = async (res: Response, maxBytes: number): Promise<string> => {
  const declared = Number(res.headers.get('content-length'));
  if (declared > maxBytes) throw new Error(`page of ${declared} bytes is larger than ${maxBytes}`);
  if (!res.body) return '';
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  const reader = res.body.getReader();
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    bytes += part.value.byteLength;
    if (bytes > maxBytes) {
      await reader.cancel();
      throw new Error(`page larger than ${maxBytes} bytes`);
    }
    text += decoder.decode(part.value, { stream: true });
  }
  return text + decoder.decode();
};

/** One fetch of `url` as a frame captured now; aborted when unsubscribed or after `timeoutMs`. */
const fetchFrame = (url: string, timeoutMs: number, maxBytes: number, now: () => number): Observable<Frame> =>
  new Observable<Frame>((subscriber) => {
    const abort = new AbortController();
    const timeout = setTimeout(() => abort.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    fetch(url, { signal: abort.signal, headers: { accept: 'text/html' } })
      .then(async (res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
        const body = await readCapped(res, maxBytes);
        // A page served as plain text is already a capture; only HTML needs its markup removed.
        const html = /html/i.test(res.headers.get('content-type') ?? 'text/html');
        subscriber.next({ text: html ? htmlToText(body) : body, capturedAt: new Date(now()), origin: url });
        subscriber.complete();
      })
      .catch((err: unknown) => subscriber.error(err))
      .finally(() => clearTimeout(timeout));
    return () => {
      clearTimeout(timeout);
      abort.abort();
    };
  });

/**
 * Fetches an HTML page every `pollMs` and yields its text as a frame. A failed fetch is logged
 * and retried with doubling backoff (from `pollMs` up to `maxBackoffMs`); it never ends the source.
 */
export const pollPage = (
  url: string,
  log: Logger,
  {
    pollMs,
    maxBackoffMs = Math.max(pollMs, 60_000),
    maxBytes = MAX_PAGE_BYTES,
    scheduler = asyncScheduler,
  }: PollOptions,
): Observable<Frame> =>
  fetchFrame(url, Math.max(pollMs, 1000), maxBytes, () => scheduler.now()).pipe(
    retry({
      resetOnSuccess: true,
      delay: (err: unknown, attempt) => {
        const waitMs = Math.min(pollMs * 2 ** (attempt - 1), maxBackoffMs);
        log.warn({ url, err, attempt, retryInMs: waitMs }, 'fetch failed; retrying');
        return timer(waitMs, scheduler);
      },
    }),
    repeat({ delay: () => timer(pollMs, scheduler) }),
  );
