import type { EventMessage, HubMessage } from '../protocol/messages.ts';

/** A hub event, or a candle a bars event became on its way to a client. */
type Stamped = HubMessage | EventMessage;

// The text rides on the event itself, not in a cache beside it: it lives exactly as long as the
// event does (a cache would keep recent events alive long enough to be promoted to the old
// generation). Non-enumerable, so spreads (a merged delta, a conflated one) and JSON leave it.
const TEXT = Symbol('json');

type WithText = Stamped & { [TEXT]?: string };

const stamp = (message: Stamped, text: string): string => {
  Object.defineProperty(message, TEXT, { value: text });
  return text;
};

/**
 * The JSON text of a hub event, serialized once however many places write it (history, the
 * journal, the Redis stream, every client's frame). Hub events are never mutated once stamped.
 */
export const eventJson = (message: Stamped): string =>
  (message as WithText)[TEXT] ?? stamp(message, JSON.stringify(message));

/** An event read back from its JSON `text`, which it keeps, so writing it again costs nothing. */
export const parseEvent = <T extends Stamped = HubMessage>(text: string): T => {
  const message = JSON.parse(text) as T;
  stamp(message, text);
  return message;
};
