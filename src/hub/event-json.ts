import type { EventMessage, HubMessage } from '../protocol/messages.ts';

/** A hub event, or a candle a bars event became on its way to a client. */
type Stamped = HubMessage | EventMessage;

/**
 * How many recent events keep their JSON. Every writer of an event (the journal, the Redis
 * stream, every client's frame, a reconnect storm's resumes) comes while it is recent; kept for
 * the whole history instead, the text was half of what each held event cost (~0.3 of 0.58 KB),
 * and the old generation grew by it.
 */
const RECENT = 8192;

// Hub events are never mutated once stamped, so their JSON can be kept beside them. A Map keeps
// insertion order: the oldest entry is the first one.
const texts = new Map<Stamped, string>();

/**
 * The JSON text of a hub event, serialized once however many places write it while it is
 * recent (the journal, the Redis stream, every client's frame); an older one is serialized again.
 */
export const eventJson = (message: Stamped): string => {
  let text = texts.get(message);
  if (text === undefined) {
    texts.set(message, (text = JSON.stringify(message)));
    if (texts.size > RECENT) texts.delete(texts.keys().next().value!);
  }
  return text;
};

/**
 * The JSON text of a hub event without keeping it: for a writer of many old events at once (a
 * compaction writing the whole history), which would otherwise push the recent ones out.
 */
export const unkeptEventJson = (message: Stamped): string => texts.get(message) ?? JSON.stringify(message);
