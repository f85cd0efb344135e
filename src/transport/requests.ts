import * as z from 'zod/mini';
import {
  CHANNELS,
  clientRequests,
  intervalProblem,
  type ClientRequest,
  type ErrorCode,
  type ErrorMessage,
  RequestId,
} from '../protocol/messages.ts';

const isOp = (op: unknown): op is keyof typeof clientRequests =>
  typeof op === 'string' && Object.hasOwn(clientRequests, op);
/** `a, b or c`, for messages that list what is accepted. */
const orList = (items: readonly string[]) =>
  items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
const OPS = orList(Object.keys(clientRequests));

/** A validated request, or the error message to answer with. */
/** A refusal this server sends: one of today's codes (a client also reads codes it does not know). */
export type RequestError = ErrorMessage & { code: ErrorCode };

export type RequestResult = { ok: true; request: ClientRequest } | { ok: false; error: RequestError };

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

/** What is wrong, as zod says it, except for fields a request does not have, which it calls "Invalid input". */
const issueMessage = (issue: z.core.$ZodIssue, op: keyof typeof clientRequests): string => {
  if (issue.code !== 'unrecognized_keys') return issue.message;
  const fields = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  return issue.path.length > 0
    ? fields
    : `${fields}: ${op} takes ${Object.keys(clientRequests[op].shape).join(', ')}`;
};

/** Validates a request object (from a frame, or built from an SSE query string). */
export const validateRequest = (json: unknown): RequestResult => {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return fail('bad_request', 'a request must be a JSON object');
  const obj = json as Record<string, unknown>;
  // Only an id the contract allows is echoed: 1e400 parses to Infinity, which JSON writes as null.
  const requestId = z.safeParse(RequestId, obj.id).success ? (obj.id as RequestId) : undefined;
  if (!isOp(obj.op))
    return fail('unknown_op', `unknown op ${JSON.stringify(obj.op ?? null)}: expected ${OPS}`, requestId);
  if ('channel' in obj && !(CHANNELS as readonly unknown[]).includes(obj.channel)) {
    return fail(
      'unknown_channel',
      `unknown channel ${JSON.stringify(obj.channel)}: expected ${orList(CHANNELS)}`,
      requestId,
    );
  }
  const parsed = z.safeParse(clientRequests[obj.op], obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    return fail('bad_request', `${where}${issueMessage(issue, obj.op)}`, requestId);
  }
  const request = parsed.data as ClientRequest;
  const problem = intervalProblem(request);
  if (problem !== undefined) return fail('bad_request', problem, requestId);
  return { ok: true, request };
};
