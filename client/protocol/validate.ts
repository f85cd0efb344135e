import * as z from 'zod/mini';
import { serverMessages, type ServerMessage } from './server-messages.ts';

/** What a received message turned out to be. */
export type MessageCheck =
  | { kind: 'valid'; message: ServerMessage }
  /** A type this version does not know: the protocol lets the server add types, so skip it. */
  | { kind: 'unknown'; type: string }
  | { kind: 'invalid'; type: string | undefined; reason: string };

const isKnown = (type: string): type is keyof typeof serverMessages => Object.hasOwn(serverMessages, type);

/** Checks one message from the server against its type's schema; unknown fields are dropped. */
export const validateServerMessage = (message: unknown): MessageCheck => {
  const type =
    typeof message === 'object' && message !== null && 'type' in message && typeof message.type === 'string'
      ? message.type
      : undefined;
  if (type === undefined) return { kind: 'invalid', type, reason: 'a message without a type' };
  if (!isKnown(type)) return { kind: 'unknown', type };
  const parsed = z.safeParse(serverMessages[type], message);
  if (parsed.success) return { kind: 'valid', message: parsed.data as ServerMessage };
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  return { kind: 'invalid', type, reason: `${type}: ${where}${issue.message}` };
};
