import { z } from 'zod';
import type { ClientRequest, ErrorCode, ErrorMessage, RequestId } from '../protocol/messages.ts';

const id = z.union([z.string().max(128), z.number().finite()]).optional();
const channel = z.string();
const symbols = z
  .array(
    z.string({ error: 'symbols must be an array of strings' }).regex(/^(\*|[A-Z0-9][A-Z0-9.-]{0,31}\*?)$/, {
      error: 'a symbol is a name like AIRLINK or a prefix pattern like OGDC* (capitals, digits, . and -)',
    }),
    { error: 'symbols must be an array of strings' },
  )
  .optional();

const subscribe = z.strictObject({
  op: z.literal('subscribe'),
  id,
  channel,
  symbols,
  maxRate: z
    .number({ error: 'maxRate must be a number of updates per second' })
    .positive()
    .max(1000)
    .optional(),
  since: z.strictObject({ epoch: z.string().max(64), seq: z.number().int().nonnegative() }).optional(),
  slow: z.enum(['conflate', 'disconnect']).optional(),
});
const unsubscribe = z.strictObject({ op: z.literal('unsubscribe'), id, channel, symbols });
const ping = z.strictObject({ op: z.literal('ping'), id });

const CHANNELS = new Set(['quotes', 'headlines']);

/** A validated request, or the error message to answer with. */
export type RequestResult = { ok: true; request: ClientRequest } | { ok: false; error: ErrorMessage };

const fail = (code: ErrorCode, message: string, requestId?: RequestId): RequestResult => ({
  ok: false,
  error: { type: 'error', ...(requestId !== undefined && { id: requestId }), code, message },
});

/** One client frame's JSON, or the error to answer with. */
export const parseJson = (
  raw: string,
): { ok: true; json: unknown } | Extract<RequestResult, { ok: false }> => {
  try {
    return { ok: true, json: JSON.parse(raw) };
  } catch {
    return { ok: false, error: { type: 'error', code: 'bad_request', message: 'frame is not valid JSON' } };
  }
};

/**
 * How many symbols a parsed frame names, read before validation: validating and indexing
 * them is the work a request costs, so a connection's budget is charged by this count.
 */
export const symbolsNamed = (json: unknown): number => {
  const symbols = (json as { symbols?: unknown } | null)?.symbols;
  return Array.isArray(symbols) ? symbols.length : 0;
};

/** Validates one client frame; an invalid one yields the error to answer with, never a throw. */
export const parseRequest = (raw: string): RequestResult => {
  const parsed = parseJson(raw);
  return parsed.ok ? validateRequest(parsed.json) : parsed;
};

/** Validates a request object (from a frame, or built from an SSE query string). */
export const validateRequest = (json: unknown): RequestResult => {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return fail('bad_request', 'a request must be a JSON object');
  const obj = json as Record<string, unknown>;
  const requestId = typeof obj.id === 'string' || typeof obj.id === 'number' ? obj.id : undefined;
  const schema =
    obj.op === 'subscribe'
      ? subscribe
      : obj.op === 'unsubscribe'
        ? unsubscribe
        : obj.op === 'ping'
          ? ping
          : undefined;
  if (!schema)
    return fail(
      'unknown_op',
      `unknown op ${JSON.stringify(obj.op ?? null)}: expected subscribe, unsubscribe or ping`,
      requestId,
    );
  if ('channel' in obj && !CHANNELS.has(obj.channel as string)) {
    return fail(
      'unknown_channel',
      `unknown channel ${JSON.stringify(obj.channel)}: expected quotes or headlines`,
      requestId,
    );
  }
  const parsed = schema.safeParse(obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    return fail('bad_request', `${where}${issue.message}`, requestId);
  }
  return { ok: true, request: parsed.data as ClientRequest };
};
