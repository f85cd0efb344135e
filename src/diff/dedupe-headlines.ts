import { defer, filter, type OperatorFunction } from 'rxjs';
import type { Headline } from '../protocol/messages.ts';

/**
 * Passes each story once, by id, across frames and replay loops. Remembers the last
 * `capacity` ids so a feed that runs for weeks does not grow without bound.
 */
export const dedupeHeadlines =
  (seen: Iterable<string> = [], capacity = 10_000): OperatorFunction<Headline, Headline> =>
  (headlines) =>
    defer(() => {
      const ids = new Set(seen);
      return headlines.pipe(
        filter((h) => {
          if (ids.has(h.id)) return false;
          ids.add(h.id);
          // A Set iterates in insertion order, so the first id is the oldest.
          if (ids.size > capacity) ids.delete(ids.values().next().value!);
          return true;
        }),
      );
    });
