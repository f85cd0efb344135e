import type { ClientRequest, ErrorCode, RequestId } from '../protocol/messages.ts';
import type { Limits } from './options.ts';
import { MAX_REQUEST_DEPTH, MAX_REQUEST_MEMBERS, requestShapeFault } from './json-shape.ts';
import { parseJson, symbolsNamed, validateRequest } from './requests.ts';
import type { RequestWindow } from './request-window.ts';

/** One client frame as it arrived, its text not yet decoded. */
export interface RawRequest {
  data: Buffer;
  binary: boolean;
}

/**
 * What becomes of a frame: a request to carry out, an error to answer (which also counts toward
 * the abuse bound), or, past the rate already refused this second, only the abuse count.
 */
export type Screened =
  | { ok: true; request: ClientRequest }
  | { ok: false; code: ErrorCode; message: string; id?: RequestId; retryAfterMs?: number; quiet?: false }
  | { ok: false; quiet: true };

/** The id of a request not yet validated, when it has a usable one, so even its refusal is matched. */
const requestIdOf = (json: unknown): RequestId | undefined => {
  const id = (json as { id?: unknown } | null)?.id;
  return typeof id === 'number' || (typeof id === 'string' && id.length <= 128) ? id : undefined;
};

const refuse = (code: ErrorCode, message: string, id?: RequestId, retryAfterMs?: number): Screened => ({
  ok: false,
  code,
  message,
  ...(id !== undefined && { id }),
  ...(retryAfterMs !== undefined && { retryAfterMs }),
});

/**
 * Checks one frame in order of cost, cheapest first, so a flood is refused before it is decoded
 * or parsed: the request rate, the size, text or binary, how deep it nests and how many members
 * its objects hold (what parsing it would cost), JSON, then the symbols it names (charged to the
 * second's budget before validation, since validating, matching and indexing them is what a
 * request costs), and last the protocol's schema.
 */
export const screenRequest = (
  raw: RawRequest,
  window: RequestWindow,
  limits: Limits,
  now: number,
): Screened => {
  const admitted = window.admit(now);
  // Told once per second; the rest of that second's excess only counts toward a 1008 close.
  if (admitted === 'over')
    return refuse(
      'rate_limited',
      `more than ${limits.maxRequestsPerSecond} requests in one second: this and further requests this second are refused`,
      undefined,
      window.msLeft(now),
    );
  if (admitted === 'still_over') return { ok: false, quiet: true };
  const { data } = raw;
  if (data.length > limits.maxPayload)
    return refuse(
      'payload_too_large',
      `a request may hold at most ${limits.maxPayload} bytes; this one has ${data.length}`,
    );
  if (raw.binary) return refuse('bad_request', 'binary frames are not accepted; send JSON text');
  const fault = requestShapeFault(data, MAX_REQUEST_DEPTH, MAX_REQUEST_MEMBERS);
  if (fault) return refuse('bad_request', fault);
  const json = parseJson(data.toString());
  if (!json.ok) return refuse(json.error.code, json.error.message);
  const named = symbolsNamed(json.json);
  if (named > limits.maxSymbols)
    return refuse(
      'too_many_symbols',
      `a request may name at most ${limits.maxSymbols} symbols; this one names ${named}`,
      requestIdOf(json.json),
    );
  if (!window.charge(named))
    return refuse(
      'rate_limited',
      `more than ${window.symbolBudget} symbols named in one second: this request is refused`,
      requestIdOf(json.json),
      window.msLeft(now),
    );
  const result = validateRequest(json.json);
  if (!result.ok) return refuse(result.error.code, result.error.message, result.error.id);
  return { ok: true, request: result.request };
};
