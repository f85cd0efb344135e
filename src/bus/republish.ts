import { eventJson } from '../hub/event-json.ts';
import type { Hub } from '../hub/hub.ts';
import type { Bar, BarsMessage, HubMessage } from '../protocol/messages.ts';

/** An event re-sent from history as the JSON history holds it: never decoded, never encoded again. */
export interface HeldJson {
  seq: number;
  json: Buffer;
}

/** What a publisher queues: the hub's events as they come, and those it re-sends from history. */
export type Queued = HubMessage | HeldJson;

/** An event as the stream holds it. */
export const queuedJson = (event: Queued): string | Buffer =>
  'json' in event ? event.json : eventJson(event);

/**
 * The hub's events with seqs in (`after`, `before`), every seq once and in order, from as far
 * back as the hub can tell them: what an ingest sends again when Redis lacks it (Redis came
 * back empty, or this ingest restarted ahead of the stream).
 *
 * History holds every quote and headline from its first event on, but no bars events (closes):
 * those seqs are filled from the bar store, which keeps each bar's latest version with the seq
 * of the event that made it. A seq's bars go out as a `bars` event at that seq, so an edge holds
 * each bar at the same seq as the ingest does (the bars a quote changed, it folds from the
 * quote) and a resume on any edge (`changedSince`) answers the same candles. A bars event whose
 * every bar a later event changed again goes out with no bars: the later event carries the
 * bar, and an edge needs the seq only so that the stream runs without a gap, which would make
 * it reload the snapshot and answer its clients' resumes with `recovered:false`. The
 * intermediate versions of a bar are gone either way: an edge that followed live holds the
 * same latest versions at the same seqs.
 */
export const heldEvents = (hub: Hub, after: number, before: number): Queued[] => {
  const history = hub.heldTexts();
  // Before the first event history holds, a missing seq may be a quote it evicted.
  const first = Math.max(after + 1, history.length > 0 ? history.seqs[0]! : Infinity);
  const last = Math.min(before - 1, hub.seq);
  if (first > last) return [];
  // Only the bars changed since `first`: days of older bars are not looked at.
  const barsAt = new Map<number, Bar[]>();
  hub.barCopy.changedSince(
    first - 1,
    () => true,
    (bar, seq) => {
      if (seq > last) return;
      const at = barsAt.get(seq);
      if (at) at.push(bar);
      else barsAt.set(seq, [bar]);
    },
  );
  const out: Queued[] = [];
  let k = history.seqs.findIndex((seq) => seq >= first);
  for (let seq = first; seq <= last; seq++) {
    if (k >= 0 && history.seqs[k] === seq) {
      out.push({ seq, json: history.text(k) });
      k++;
    } else out.push(barsEvent(seq, barsAt.get(seq) ?? []));
  }
  return out;
};

const barsEvent = (seq: number, bars: Bar[]): BarsMessage => ({
  type: 'bars',
  seq,
  bars,
});
