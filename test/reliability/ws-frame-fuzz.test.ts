import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFrame, OP_TEXT } from '../../bench/ws-frames.ts';
import { fixturePath, TestClient, waitFor } from '../helpers.ts';
import { spawnTickstream, type ServerChild } from '../server-child.ts';
import { rawClient, rawFrame, sendAndWaitClose } from '../transport/raw-frames.ts';

// `npm run test:reliability` sets this for a longer run; `npm test` runs one round.
const ROUNDS = Number(process.env.TICKSTREAM_FUZZ_ROUNDS ?? 1);
/** How long a case may leave a socket open: a frame that announces more bytes than it sends waits forever. */
const CASE_MS = 400;

/** A small seeded PRNG (mulberry32), so a failing round can be replayed from its seed. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const text = (s: string) => Buffer.from(s);
const bytes = (...b: number[]) => Buffer.from(b);
const closePayload = (code: number, reason: Buffer = Buffer.alloc(0)) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, reason]);
};

/** Malformed frames by kind; each case is the bytes a client writes after the handshake. */
const cases = (rand: () => number): { kind: string; bytes: Buffer }[] => {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const junk = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  const ping = text('{"op":"ping"}');
  return [
    { kind: 'unmasked text', bytes: rawFrame({ opcode: 1, payload: ping, masked: false }) },
    { kind: 'unmasked close', bytes: rawFrame({ opcode: 8, payload: closePayload(1000), masked: false }) },
    { kind: 'reserved bits', bytes: rawFrame({ opcode: 1, payload: ping, rsv: 1 + Math.floor(rand() * 7) }) },
    { kind: 'reserved data opcode', bytes: rawFrame({ opcode: pick([3, 4, 5, 6, 7]), payload: ping }) },
    { kind: 'reserved control opcode', bytes: rawFrame({ opcode: pick([11, 12, 13, 14, 15]) }) },
    { kind: 'length longer than sent', bytes: rawFrame({ opcode: 1, payload: ping, length: 500 }) },
    {
      kind: '64-bit length with the top bit set',
      bytes: Buffer.concat([bytes(0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1), junk(4)]),
    },
    { kind: 'length over the limit', bytes: rawFrame({ opcode: 1, payload: Buffer.alloc(300_000, 0x20) }) },
    { kind: 'continuation with nothing to continue', bytes: rawFrame({ opcode: 0, payload: ping }) },
    {
      kind: 'new message inside a fragmented one',
      bytes: Buffer.concat([
        rawFrame({ opcode: 1, payload: text('{"op":'), fin: false }),
        rawFrame({ opcode: 1, payload: ping }),
      ]),
    },
    { kind: 'fragmented ping', bytes: rawFrame({ opcode: 9, payload: text('x'), fin: false }) },
    {
      kind: 'fragments left open',
      bytes: Buffer.concat(
        Array.from({ length: 50 }, () => rawFrame({ opcode: 0, payload: junk(10), fin: false })),
      ),
    },
    {
      kind: 'bad UTF-8 text',
      bytes: rawFrame({
        opcode: 1,
        payload: pick([bytes(0xff, 0xfe), bytes(0xc0, 0xaf), bytes(0xed, 0xa0, 0x80)]),
      }),
    },
    {
      kind: 'bad UTF-8 split across fragments',
      bytes: Buffer.concat([
        rawFrame({ opcode: 1, payload: bytes(0x22, 0xe2), fin: false }),
        rawFrame({ opcode: 0, payload: bytes(0x28, 0xa1) }),
      ]),
    },
    {
      kind: 'ping over 125 bytes',
      bytes: rawFrame({ opcode: 9, payload: Buffer.alloc(126 + Math.floor(rand() * 200), 0x61) }),
    },
    { kind: 'close with one byte', bytes: rawFrame({ opcode: 8, payload: bytes(3) }) },
    {
      kind: 'close with a forbidden code',
      bytes: rawFrame({
        opcode: 8,
        payload: closePayload(pick([0, 999, 1004, 1005, 1006, 1015, 2000, 5000])),
      }),
    },
    {
      kind: 'close with a bad UTF-8 reason',
      bytes: rawFrame({ opcode: 8, payload: closePayload(1000, bytes(0xff, 0xff)) }),
    },
    {
      kind: 'close over 125 bytes',
      bytes: rawFrame({ opcode: 8, payload: closePayload(1000, Buffer.alloc(200, 0x61)) }),
    },
    { kind: 'binary message', bytes: rawFrame({ opcode: 2, payload: junk(64) }) },
    { kind: 'random bytes', bytes: junk(1 + Math.floor(rand() * 64)) },
    {
      kind: 'random header bits',
      bytes: Buffer.concat([bytes(Math.floor(rand() * 256), Math.floor(rand() * 256)), junk(16)]),
    },
  ];
};

type Target = 'refused' | 'unsubscribed' | 'subscribed';

describe('WebSocket frame fuzzing against a real server process', () => {
  let server: ServerChild;
  let url: string;
  let bystander: TestClient;
  let tried = 0;
  beforeAll(async () => {
    server = await spawnTickstream('serve', [
      ...['--feed', fixturePath('two-frames.txt'), '--speed', '0', '--port', '0', '--host', '127.0.0.1'],
      ...['--auth-token', 'T', '--connect-rate', '100000', '--max-connections-per-ip', '100000'],
    ]);
    url = `ws://127.0.0.1:${server.port}/ws`;
    bystander = await TestClient.connect(`${url}?token=T`);
    bystander.send({ op: 'subscribe', channel: 'quotes' });
    await bystander.next('snapshot');
  });
  afterAll(async () => {
    await bystander?.close();
    console.log(
      `ws frame fuzz: ${tried} malformed frame sequences tried over ${ROUNDS} round(s); server still up`,
    );
    await server.stop();
  });

  /** Opens a socket in the given state and writes one malformed case at it. */
  const attack = async (target: Target, bytes: Buffer) => {
    const client = await rawClient(target === 'refused' ? url : `${url}?token=T`);
    if (target === 'subscribed') {
      client.socket.write(clientFrame(OP_TEXT, text('{"op":"subscribe","channel":"quotes"}')));
      await waitFor(() => client.received().includes('"snapshot"'), 'the snapshot');
    }
    await sendAndWaitClose(client.socket, bytes, CASE_MS);
    tried++;
  };

  for (const target of ['refused', 'unsubscribed', 'subscribed'] as const)
    it(`survives every malformed frame at a ${target} socket, and the bystander is still served`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const all = cases(random(round * 3 + target.length));
        // A few at a time: the cases that leave a frame unfinished wait out CASE_MS.
        for (let i = 0; i < all.length; i += 8)
          await Promise.all(all.slice(i, i + 8).map((c) => attack(target, c.bytes)));
      }
      const from = bystander.messages.length;
      bystander.send({ op: 'ping', id: target });
      await bystander.next('pong', (m) => m.id === target, from);
      expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
      expect(server.child.exitCode).toBe(null);
      expect(server.logs().filter((l) => (l.level as number) >= 50)).toEqual([]);
    });
});
