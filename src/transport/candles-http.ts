import * as z from 'zod/mini';
import type { Hub } from '../hub/hub.ts';
import { isBarInterval } from '../bars/intervals.ts';
import { INTERVAL_LIST, type CandlesResponse } from '../protocol/messages.ts';
import { symbolsParam } from './query-lists.ts';

/**
 * An answer to `GET /api/candles`: the body, or a 400 that says what to fix; `items` is how
 * many candles it took (see `ItemBudget`), those gone through for a refused one too.
 */
export type CandlesAnswer =
  { status: 200; body: CandlesResponse; items: number } | { status: 400; message: string; items?: number };

/**
 * The most candles one answer holds (about 8 MB of JSON): a day of every symbol's 1m bars, or
 * days of them, would hold the loop for seconds per request, which anyone could repeat.
 */
export const MAX_CANDLES = 50_000;

/**
 * A date (midnight UTC), or a time as the protocol writes its timestamps, with its zone (`Z` or
 * an offset): a time without one would be read in the server's own zone, so the same query
 * would mean another hour on another machine.
 */
const Instant = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

const instant = (name: string, raw: string | null): string | { error: string } | undefined => {
  if (raw === null) return undefined;
  const ms = z.safeParse(Instant, raw).success ? Date.parse(raw) : NaN;
  return Number.isNaN(ms)
    ? {
        error: `${name} must be an ISO-8601 date, or a time with its zone (2023-11-09T04:30:00Z), got "${raw}"`,
      }
    : new Date(ms).toISOString();
};

/**
 * `GET /api/candles?symbols=AIRLINK,HBL&interval=5m&from=ISO&to=ISO`: bars ordered by symbol,
 * then start; `from`/`to` default to the current trading day, `symbols` to all of them.
 */
export const candlesAnswer = (url: URL, hub: Hub): CandlesAnswer => {
  const q = url.searchParams;
  const interval = q.get('interval');
  if (!isBarInterval(interval))
    return {
      status: 400,
      message:
        interval === null
          ? `interval is required: ${INTERVAL_LIST}`
          : `unknown interval "${interval}": expected ${INTERVAL_LIST}`,
    };
  const symbols = symbolsParam(q);
  if ('error' in symbols) return { status: 400, message: symbols.error };
  const from = instant('from', q.get('from'));
  const to = instant('to', q.get('to'));
  for (const t of [from, to]) if (typeof t === 'object') return { status: 400, message: t.error };
  const [since, until] = [from as string | undefined, to as string | undefined];
  if (since !== undefined && until !== undefined && since >= until)
    return { status: 400, message: `from must be before to, got from ${since} and to ${until}` };
  const candles = hub.queryBars({
    interval,
    ...(symbols.wants && { symbol: symbols.wants }),
    ...(since !== undefined && { from: since }),
    ...(until !== undefined && { to: until }),
    limit: MAX_CANDLES + 1,
  });
  if (candles.length > MAX_CANDLES)
    return {
      status: 400,
      message: `more than ${MAX_CANDLES} candles asked for: name fewer symbols, or a shorter from-to, in each request (or subscribe to the candles channel)`,
      items: candles.length,
    };
  return {
    status: 200,
    body: { epoch: hub.epoch, seq: hub.seq, interval, candles },
    items: candles.length,
  };
};
