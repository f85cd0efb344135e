import type { HubMessage } from '../protocol/messages.ts';

// Hub events are never mutated once stamped, so their JSON can be kept beside them.
const texts = new WeakMap<HubMessage, string>();

/**
 * The JSON text of a hub event, serialized once however many places write it (the journal,
 * the Redis stream, every client's frame).
 */
export const eventJson = (message: HubMessage): string => {
  let text = texts.get(message);
  if (text === undefined) texts.set(message, (text = JSON.stringify(message)));
  return text;
};
