import { defer, filter, type OperatorFunction } from 'rxjs';
import type { Headline } from '../protocol/messages.ts';
import { HEADLINE_ID_CAPACITY, RecentIds } from './recent-ids.ts';

/**
 * Passes each story once, by id, across frames and replay loops. Remembers the `capacity`
 * most recently seen ids so a feed that runs for weeks does not grow without bound. `seen`
 * holds ids already published (after a restart).
 */
export const dedupeHeadlines =
  (seen: Iterable<string> = [], capacity = HEADLINE_ID_CAPACITY): OperatorFunction<Headline, Headline> =>
  (headlines) =>
    defer(() => {
      const ids = new RecentIds(capacity, seen);
      return headlines.pipe(filter((h) => ids.add(h.id)));
    });
