import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type Limits } from '../../src/transport/options.ts';
import { screenRequest } from '../../src/transport/request-screen.ts';
import { RequestWindow } from '../../src/transport/request-window.ts';

const limits: Limits = { ...DEFAULT_LIMITS, maxPayload: 256, maxSymbols: 3, maxRequestsPerSecond: 4 };
const frame = (request: unknown) => {
  const text = typeof request === 'string' ? request : JSON.stringify(request);
  return { data: Buffer.from(text), binary: false };
};
const screen = (request: unknown, window = new RequestWindow(limits), now = 0) =>
  screenRequest(frame(request), window, limits, now);

describe('screenRequest', () => {
  it('passes a valid request on, validated', () => {
    expect(screen({ op: 'subscribe', channel: 'quotes', symbols: ['AIRLINK', 'KSE*'], id: 1 })).toEqual({
      ok: true,
      request: { op: 'subscribe', channel: 'quotes', symbols: ['AIRLINK', 'KSE*'], id: 1 },
    });
  });

  it.each([
    { what: 'a frame over maxPayload', request: 'x'.repeat(257), code: 'payload_too_large' },
    { what: 'text that is not JSON', request: '{op', code: 'bad_request' },
    {
      what: 'a request naming more than maxSymbols',
      request: { op: 'subscribe', channel: 'quotes', symbols: ['A', 'B', 'C', 'D'], id: 7 },
      code: 'too_many_symbols',
      id: 7,
    },
    { what: 'an unknown op', request: { op: 'dance', id: 'x' }, code: 'unknown_op', id: 'x' },
    {
      what: 'a field the request does not have',
      request: { op: 'ping', id: 2, pad: 'x' },
      code: 'bad_request',
      id: 2,
      message: /^unknown field "pad": ping takes op, id$/,
    },
    {
      what: 'a field a nested object does not have',
      request: { op: 'subscribe', channel: 'quotes', since: { epoch: 'e', seq: 1, at: 2 } },
      code: 'bad_request',
      message: /^since: unknown field "at"$/,
    },
    {
      what: 'arrays nested deeper than a request',
      request: '['.repeat(100) + ']'.repeat(100),
      code: 'bad_request',
      message: /nest at most 8/,
    },
    {
      what: 'an object of more members than a request has',
      // Forty one-letter keys, within the 256 bytes this test allows.
      request: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [String.fromCharCode(65 + i), 0])),
      code: 'bad_request',
      message: /at most 32 members/,
    },
  ])('refuses $what with $code, echoing a usable id', ({ request, code, id, message }) => {
    const screened = screen(request);
    expect(screened).toMatchObject({ ok: false, code, ...(message && { message }) });
    expect(screened.ok === false && !screened.quiet ? screened.id : 'accepted').toBe(id);
  });

  it('refuses binary frames before parsing them', () => {
    const screened = screenRequest(
      { data: Buffer.alloc(4), binary: true },
      new RequestWindow(limits),
      limits,
      0,
    );
    expect(screened).toMatchObject({
      ok: false,
      code: 'bad_request',
      message: expect.stringMatching(/binary/),
    });
  });

  it('says rate_limited once per second, then refuses quietly until the next second', () => {
    const window = new RequestWindow(limits);
    const ping = { op: 'ping' };
    const first = Array.from({ length: 4 }, () => screen(ping, window, 100));
    expect(first.every((s) => s.ok)).toBe(true);
    expect(screen(ping, window, 200)).toMatchObject({ ok: false, code: 'rate_limited' });
    expect(screen(ping, window, 300)).toEqual({ ok: false, quiet: true });
    expect(screen(ping, window, 1100)).toMatchObject({ ok: true });
  });

  it("charges named symbols to the second's budget before validating them", () => {
    const window = new RequestWindow(limits);
    const three = { op: 'subscribe', channel: 'quotes', symbols: ['A', 'B', 'C'] };
    expect(screen(three, window, 0).ok).toBe(true);
    expect(screen(three, window, 0).ok).toBe(true);
    // Two requests of three spent the budget of twice maxSymbols: even invalid names are charged.
    expect(screen({ ...three, symbols: ['lower'] }, window, 0)).toMatchObject({
      ok: false,
      code: 'rate_limited',
    });
    expect(screen(three, window, 1000).ok).toBe(true);
  });
});
