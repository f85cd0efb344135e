import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import type { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type ServerMessage } from '../../src/protocol/messages.ts';
import type { Running } from '../../src/serve.ts';
import type { Frame } from '../../src/source/frame.ts';
import { DEFAULT_LIMITS } from '../../src/transport/options.ts';
import { fixtureFrames, startWithFrames, TestClient, waitFor } from '../helpers.ts';
import { httpGet } from './crowd.ts';

const HEARTBEAT_MS = 250;
// The codes the contract allows: a reply with any other is a bug.
const ERROR_CODES: readonly string[] = ErrorCode.options;
const [first, second] = fixtureFrames('two-frames.txt');

type Expect = { error: ErrorCode } | { close: number };
interface Attack {
  name: string;
  frame: string | Buffer;
  binary?: boolean;
  expect: Expect;
}

const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const attacks: Attack[] = [
  { name: 'text that is not JSON', frame: '{"op":"ping"', expect: { error: 'bad_request' } },
  { name: 'a JSON array nested 20,000 deep', frame: deepArray(20_000), expect: { error: 'bad_request' } },
  {
    name: 'an id nested 8,000 objects deep',
    frame: `{"op":"ping","id":${'{"a":'.repeat(8000)}1${'}'.repeat(8001)}`,
    expect: { error: 'bad_request' },
  },
  {
    name: '5,000 symbols in one subscribe',
    frame: JSON.stringify({
      op: 'subscribe',
      channel: 'quotes',
      symbols: Array.from({ length: 5000 }, (_, i) => `S${i}`),
    }),
    expect: { error: 'too_many_symbols' },
  },
  {
    name: 'unicode and control characters as symbols',
    frame: JSON.stringify({
      op: 'subscribe',
      channel: 'quotes',
      symbols: ['ＡＩＲＬＩＮＫ', '💹', '\u0000', 'A\u202eB'],
    }),
    expect: { error: 'bad_request' },
  },
  {
    name: 'a lone surrogate escaped in a symbol',
    frame: '{"op":"subscribe","channel":"quotes","symbols":["\\ud800"]}',
    expect: { error: 'bad_request' },
  },
  {
    name: 'a __proto__ key',
    frame: '{"op":"subscribe","channel":"quotes","__proto__":{"polluted":true}}',
    expect: { error: 'bad_request' },
  },
  {
    name: 'a constructor.prototype key',
    frame: '{"op":"ping","constructor":{"prototype":{"polluted":true}}}',
    expect: { error: 'bad_request' },
  },
  { name: 'op "__proto__"', frame: '{"op":"__proto__"}', expect: { error: 'unknown_op' } },
  { name: 'op "toString"', frame: '{"op":"toString"}', expect: { error: 'unknown_op' } },
  {
    name: 'channel "__proto__"',
    frame: '{"op":"subscribe","channel":"__proto__"}',
    expect: { error: 'unknown_channel' },
  },
  {
    name: 'channel "hasOwnProperty"',
    frame: '{"op":"subscribe","channel":"hasOwnProperty"}',
    expect: { error: 'unknown_channel' },
  },
  {
    name: 'maxRate as a string',
    frame: '{"op":"subscribe","channel":"quotes","maxRate":"2"}',
    expect: { error: 'bad_request' },
  },
  {
    name: 'since.seq as a string',
    frame: '{"op":"subscribe","channel":"quotes","since":{"epoch":"x","seq":"12"}}',
    expect: { error: 'bad_request' },
  },
  { name: 'a number 1e400', frame: '{"op":"ping","id":1e400}', expect: { error: 'bad_request' } },
  {
    name: 'a binary frame',
    frame: Buffer.from([0, 1, 2, 255]),
    binary: true,
    expect: { error: 'bad_request' },
  },
  {
    name: 'a 100 kB request (over maxPayload, under 4x)',
    frame: JSON.stringify({ op: 'ping', id: 'x'.repeat(100_000) }),
    expect: { error: 'payload_too_large' },
  },
  { name: 'a 300 kB frame (over 4x maxPayload)', frame: deepArray(150_000), expect: { close: 1009 } },
  {
    name: 'invalid UTF-8 in a text frame',
    frame: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]),
    binary: false,
    expect: { close: 1007 },
  },
];

describe('protocol fuzzing against a real server', () => {
  let running: Running;
  let frames$: Subject<Frame>;
  let observer: TestClient;
  let pushed = 0;
  let pusher: ReturnType<typeof setInterval>;

  beforeAll(async () => {
    // A hundred property runs each connect anew from 127.0.0.1: the per-address connect rate
    // would refuse some of them once its burst is spent, which is not what this test is about.
    ({ running, frames$ } = await startWithFrames({
      transport: { limits: { ...DEFAULT_LIMITS, connectsPerSecond: 100_000 } },
    }));
    frames$.next(first!);
    observer = await TestClient.connect(running.server.url);
    observer.send({ op: 'subscribe', id: 'q', channel: 'quotes' });
    observer.send({ op: 'subscribe', id: 'h', channel: 'headlines' });
    await waitFor(() => observer.ofType('snapshot').length === 2, 'both snapshots');
    // The feed keeps moving while the attackers work: each frame changes three quotes.
    pusher = setInterval(() => frames$.next(++pushed % 2 ? second! : first!), 20);
  });

  afterAll(async () => {
    clearInterval(pusher);
    await observer.close();
    await running.close();
  });

  it.each(attacks)('$name: answered with $expect', async ({ frame, binary, expect: want }) => {
    const client = await TestClient.connect(running.server.url);
    try {
      client.ws.send(frame, { binary: binary ?? typeof frame !== 'string' });
      if ('close' in want) {
        await waitFor(() => client.closeCode, 'the close');
        expect(client.closeCode).toBe(want.close);
        return;
      }
      const error = await client.next('error');
      expect(error.code).toBe(want.error);
      expect(error.message).not.toMatch(/\bat \S+:\d+/); // no stack trace leaks
      // An error does not end the connection.
      client.send({ op: 'ping', id: 'alive' });
      await client.next('pong', (m) => m.id === 'alive');
    } finally {
      await client.close();
    }
  });

  it('leaves Object.prototype untouched after prototype-pollution keys', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('answers every random request with at most one reply, carrying a known code', async () => {
    const junk = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string({ unit: 'binary', maxLength: 20 }));
    const request = fc.record(
      {
        op: fc.oneof(fc.constantFrom('subscribe', 'unsubscribe', 'ping'), junk),
        channel: fc.oneof(fc.constantFrom('quotes', 'headlines'), junk),
        symbols: fc.oneof(fc.array(fc.constantFrom('AIRLINK', 'HBL', 'OGDC*', 'KSE100')), junk),
        maxRate: junk,
        since: fc.oneof(fc.record({ epoch: fc.string(), seq: fc.integer() }), junk),
        slow: fc.oneof(fc.constantFrom('conflate', 'disconnect'), junk),
      },
      { requiredKeys: ['op'] },
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 8 }), async (requests) => {
        runs++;
        const client = await TestClient.connect(running.server.url);
        try {
          requests.forEach((r, i) => client.send({ ...r, id: i }));
          client.send({ op: 'ping', id: 'end' });
          // Requests are answered in order, so the last pong means every answer is in.
          await client.next('pong', (m) => m.id === 'end');
          const replies = client.messages.filter(
            (m): m is Extract<ServerMessage, { id?: unknown }> => 'id' in m && m.id !== 'end',
          );
          for (let i = 0; i < requests.length; i++)
            expect(replies.filter((m) => m.id === i).length).toBeLessThanOrEqual(1);
          for (const e of client.ofType('error')) {
            expect(ERROR_CODES).toContain(e.code);
            expect(e.message.length).toBeGreaterThan(0);
          }
          expect(client.closeCode).toBeUndefined();
        } finally {
          await client.close();
        }
      }),
      { numRuns: 150 },
    );
    console.info(`random requests: ${runs} connections answered`);
  });

  // Regression: the replies owed before the abuse close (pongs, rate_limited) used to be dropped.
  it('answers a request flood within the rate, says rate_limited, then closes 1008', async () => {
    const client = await TestClient.connect(running.server.url);
    for (let i = 0; i < 2000 && client.ws.readyState === client.ws.OPEN; i++)
      client.send({ op: 'ping', id: i });
    await waitFor(() => client.closeCode, 'the close', 10_000);
    console.info(
      `request flood: ${client.ofType('pong').length} pongs, ${client.ofType('error').length} errors, ` +
        `then closed ${client.closeCode}`,
    );
    expect(client.closeCode).toBe(1008);
    expect(client.ofType('pong').length).toBeGreaterThanOrEqual(20);
    expect(client.ofType('error').some((e) => e.code === 'rate_limited')).toBe(true);
  });

  it('survives a flood of 20,000 WebSocket pings', async () => {
    const client = await TestClient.connect(running.server.url);
    let pongs = 0;
    client.ws.on('pong', () => pongs++);
    for (let i = 0; i < 20_000 && client.ws.readyState === client.ws.OPEN; i++) client.ws.ping();
    // ws cuts off a peer whose unanswered auto-pongs pile up (its maxPendingAutoPongs) without
    // a close frame, so the flooder sees 1006; a policy close from our own limits would be 1008.
    await waitFor(() => pongs === 20_000 || client.closeCode, 'the pongs or a close', 15_000);
    if (client.closeCode !== undefined) expect([1006, 1008]).toContain(client.closeCode);
    expect((await httpGet(running.server.port, '/healthz')).status).toBe(200);
    console.info(`ping flood: ${pongs} pongs, close ${client.closeCode ?? 'none'}`);
    await client.close();
  });

  it('cuts off a client that stops mid-frame, by ping/pong', async () => {
    // Its own server: a heartbeat this short would also cut off a client kept busy by a flood.
    const short = (await startWithFrames({ transport: { heartbeatMs: HEARTBEAT_MS } })).running;
    const socket: Socket = connect(short.server.port, '127.0.0.1');
    let upgraded = '';
    socket.on('data', (d: Buffer) => (upgraded += d.toString('latin1')));
    socket.on('error', () => {});
    const opened = performance.now();
    let ms: number | undefined;
    socket.on('close', () => (ms = performance.now() - opened));
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await waitFor(() => upgraded.startsWith('HTTP/1.1 101'), 'the upgrade');
    // A masked text frame header announcing 125 bytes, then only 10 of them, then silence.
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | 125, 1, 2, 3, 4]), Buffer.alloc(10, 0x61)]));
    // Two missed pongs are the rule; the deadline only keeps a broken rule from hanging the test.
    await waitFor(() => ms !== undefined, 'the half-frame client to be cut off', HEARTBEAT_MS * 10);
    console.info(`half frame: cut off after ${ms!.toFixed(0)} ms (heartbeat ${HEARTBEAT_MS} ms)`);
    await short.close();
  });

  it('gives the well-behaved client every event, in order, and the exact state', async () => {
    const seqBefore = running.hub.seq;
    await waitFor(() => running.hub.seq > seqBefore + 30, 'more frames');
    clearInterval(pusher);
    const last = running.hub.seq;
    await waitFor(() => observer.ofType('quote').at(-1)?.seq === last, 'the observer to catch up');
    const start = observer.ofType('snapshot')[0]!.seq;
    const seqs = observer.messages
      .filter((m) => m.type === 'quote' || m.type === 'headline')
      .map((m) => (m as { seq: number }).seq);
    expect(seqs).toEqual(Array.from({ length: last - start }, (_, i) => start + 1 + i));
    expect(observer.closeCode).toBeUndefined();
    console.info(`observer: ${seqs.length} events, seq ${start + 1}..${last}, no gap`);
  });
});
