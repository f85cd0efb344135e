import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_DEPTH, MAX_REQUEST_MEMBERS, requestShapeFault } from '../../src/transport/json-shape.ts';

const fault = (text: string, maxDepth = 3, maxMembers = 5) =>
  requestShapeFault(Buffer.from(text), maxDepth, maxMembers);

describe('requestShapeFault', () => {
  it('passes what a request looks like, however many symbols it names', () => {
    const subscribe = {
      op: 'subscribe',
      channel: 'quotes',
      symbols: Array.from({ length: 5000 }, (_, i) => `SYM${i}`),
      since: { epoch: 'e1', seq: 12 },
      maxRate: 4,
      slow: 'conflate',
      interval: '1m',
      id: 'a',
    };
    const bytes = Buffer.from(JSON.stringify(subscribe));
    expect(requestShapeFault(bytes, MAX_REQUEST_DEPTH, MAX_REQUEST_MEMBERS)).toBe(undefined);
  });

  it('refuses nesting past the depth, however it is closed', () => {
    expect(fault('[[[]]]')).toBe(undefined);
    expect(fault('[[[[]]]]')).toMatch(/nest at most 3/);
    expect(fault('{"a":{"b":{"c":{}}}}')).toMatch(/nest at most 3/);
    expect(fault('['.repeat(30_000))).toMatch(/nest at most 3/);
    expect(fault(']]]]]]' + '[[[[')).toMatch(/nest at most 3/);
  });

  it('refuses an object of more members than allowed, at any depth, and counts each on its own', () => {
    expect(fault('{"a":1,"b":2,"c":3,"d":4,"e":5}')).toBe(undefined);
    expect(fault('{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}')).toMatch(/at most 5 members/);
    expect(fault('{"x":[{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}]}')).toMatch(/at most 5 members/);
    // Array items are not members, and two objects of five are not one of ten.
    expect(fault('[1,2,3,4,5,6,7,8,9,10]')).toBe(undefined);
    expect(fault('[{"a":1,"b":2,"c":3,"d":4,"e":5},{"a":1,"b":2,"c":3,"d":4,"e":5}]')).toBe(undefined);
    expect(fault('{"a":[1,2,3,4,5,6],"b":1}')).toBe(undefined);
  });

  it('reads nothing inside strings as structure, escaped quotes included', () => {
    expect(fault(JSON.stringify({ a: '[[[[[,,,,,,{{{{', b: 'say "[[[[" ,,,,,, \\' }))).toBe(undefined);
    expect(fault(JSON.stringify(['"\\"[[[[', '\\\\']) + '[[[[')).toMatch(/nest/);
  });

  it('reads multi-byte text as bytes without mistaking any for structure', () => {
    expect(fault(JSON.stringify({ s: '▲'.repeat(100) + '€,[{'.repeat(10) }))).toBe(undefined);
  });
});
