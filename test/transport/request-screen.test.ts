import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type Limits } from '../../src/transport/options.ts';
import { screenRequest } from '../../src/transport/request-screen.ts';
import { RequestWindow } from '../../src/transport/request-window.ts';

const limits: Limits = { ...DEFAULT_LIMITS, maxPayload: 256, maxSymbols: 3, maxRequestsPerSecond: 4 };
const frame = (request: unknown) => {
  const text = typeof request === 'string' ? request : JSON.stringify(request);
  return { text, bytes: Buffer.byteLength(text), binary: false };
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
  ])('refuses $what with $code, echoing a usable id', ({ request, code, id }) => {
    const screened = screen(request);
    expect(screened).toMatchObject({ ok: false, code });
    expect(screened.ok === false && !screened.quiet ? screened.id : 'accepted').toBe(id);
  });

  it('refuses binary frames before parsing them', () => {
    const screened = screenRequest(
      { text: '', bytes: 4, binary: true },
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
