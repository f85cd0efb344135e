import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import {
  clientFrame,
  FrameReader,
  messageFrame,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  openWebSocket,
} from '../../bench/ws-frames.ts';
import { Needle } from '../../bench/ws-frames-needle.ts';

/** A server frame: unmasked unless `mask` is given, with the shortest length form. */
const serverFrame = (opcode: number, payload: Buffer | string, { fin = true, mask = false } = {}): Buffer => {
  const body = Buffer.from(payload);
  const n = body.length;
  const length =
    n < 126
      ? Buffer.from([n])
      : n < 65_536
        ? Buffer.from([126, n >> 8, n & 0xff])
        : Buffer.concat([
            Buffer.from([127, 0, 0, 0, 0]),
            Buffer.from([n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]),
          ]);
  length[0]! |= mask ? 0x80 : 0;
  return Buffer.concat([
    Buffer.from([(fin ? 0x80 : 0) | opcode]),
    length,
    ...(mask ? [Buffer.alloc(4)] : []),
    body,
  ]);
};

/** Decodes one masked client frame: its FIN bit, opcode and unmasked payload. */
const decodeClientFrame = (frame: Buffer) => {
  expect(frame[1]! & 0x80).toBe(0x80);
  let length = frame[1]! & 0x7f;
  let pos = 2;
  if (length === 126) {
    length = frame.readUInt16BE(2);
    pos = 4;
  } else if (length === 127) {
    length = Number(frame.readBigUInt64BE(2));
    pos = 10;
  }
  const mask = frame.subarray(pos, pos + 4);
  const masked = frame.subarray(pos + 4);
  expect(masked.length).toBe(length);
  const payload = Buffer.from(masked.map((b, i) => b ^ mask[i & 3]!));
  return { fin: (frame[0]! & 0x80) !== 0, opcode: frame[0]! & 0x0f, payload };
};

/** A reader that records everything it hands on; `borrowed`: chunks come in a reused buffer. */
const recorder = (borrowed = false) => {
  const got = {
    messages: [] as string[],
    headerBytes: [] as number[],
    payloads: [] as Buffer[],
    sent: [] as Buffer[],
    closes: [] as number[],
    errors: [] as string[],
  };
  const reader = new FrameReader(
    {
      message: (payload, header) => {
        got.payloads.push(payload);
        got.messages.push(payload.toString('latin1'));
        got.headerBytes.push(header);
      },
      send: (frame) => got.sent.push(frame),
      close: (code) => got.closes.push(code),
      error: (err) => got.errors.push(err.message),
    },
    borrowed,
  );
  return { reader, got };
};

const long = (n: number, seed = 0) =>
  Buffer.from(Array.from({ length: n }, (_, i) => 97 + ((i + seed) % 26)));

describe('FrameReader', () => {
  // 7-bit, 16-bit, a ping, a fragmented message with a ping inside it, an empty frame, a binary frame.
  const stream = Buffer.concat([
    serverFrame(OP_TEXT, '{"type":"quote"}'),
    serverFrame(OP_TEXT, long(300)),
    serverFrame(OP_PING, 'hi'),
    serverFrame(OP_TEXT, 'frag', { fin: false }),
    serverFrame(OP_CONTINUATION, long(130, 1), { fin: false }),
    serverFrame(OP_PING, ''),
    serverFrame(OP_CONTINUATION, '-end'),
    serverFrame(OP_TEXT, ''),
    serverFrame(OP_BINARY, Buffer.from([0x90, 3, 0, 1, 0])),
  ]);
  const expected = [
    '{"type":"quote"}',
    long(300).toString(),
    `frag${long(130, 1).toString()}-end`,
    '',
    Buffer.from([0x90, 3, 0, 1, 0]).toString('latin1'),
  ];

  it('reads several frames from one chunk, handing on views into it', () => {
    const { reader, got } = recorder();
    reader.push(stream);
    expect(got.messages).toEqual(expected);
    expect(got.headerBytes).toEqual([2, 4, 2 + 4 + 2, 2, 2]);
    expect(got.payloads[0]!.buffer).toBe(stream.buffer);
    expect(got.payloads[1]!.buffer).toBe(stream.buffer);
    expect(got.errors).toEqual([]);
  });

  it('reads the same whatever byte the stream is split at', () => {
    for (let at = 0; at <= stream.length; at++) {
      const { reader, got } = recorder();
      reader.push(stream.subarray(0, at));
      reader.push(stream.subarray(at));
      expect(got.messages, `split at ${at}`).toEqual(expected);
      expect(got.sent.length, `split at ${at}`).toBe(2);
      expect(got.errors).toEqual([]);
    }
  });

  it('reads chunks that share one reused read buffer, copying only what it keeps', () => {
    const scratch = Buffer.alloc(stream.length);
    // Like net's onread: each chunk lands in the same buffer, overwritten after the call.
    const pushReused = (reader: FrameReader, part: Buffer) => {
      part.copy(scratch);
      reader.push(scratch.subarray(0, part.length));
      scratch.fill(0xff);
    };
    for (let at = 0; at <= stream.length; at++) {
      const { reader, got } = recorder(true);
      pushReused(reader, stream.subarray(0, at));
      pushReused(reader, stream.subarray(at));
      expect(got.messages, `split at ${at}`).toEqual(expected);
      expect(got.errors).toEqual([]);
    }
    const { reader, got } = recorder(true);
    for (let i = 0; i < stream.length; i++) pushReused(reader, stream.subarray(i, i + 1));
    expect(got.messages).toEqual(expected);
  });

  it('reads the stream one byte at a time', () => {
    const { reader, got } = recorder();
    for (let i = 0; i < stream.length; i++) reader.push(stream.subarray(i, i + 1));
    expect(got.messages).toEqual(expected);
    expect(got.headerBytes).toEqual([2, 4, 8, 2, 2]);
  });

  it('reads 16-bit and 64-bit lengths, split inside the header or the payload', () => {
    const sizes = [125, 126, 65_535, 65_536, 200_000];
    const frames = Buffer.concat(sizes.map((n, i) => serverFrame(OP_BINARY, long(n, i))));
    // Inside each header and at a few points in each payload.
    const cuts = [0, 1, 2, 3, 5, 9, 10, 11, 127, 130, 65_000, 65_700, 65_800, 140_000, 200_000, 300_000];
    for (const at of cuts) {
      const { reader, got } = recorder();
      reader.push(frames.subarray(0, at));
      reader.push(frames.subarray(at));
      expect(
        got.payloads.map((p) => p.length),
        `split at ${at}`,
      ).toEqual(sizes);
      got.payloads.forEach((p, i) => expect(p.equals(long(sizes[i]!, i))).toBe(true));
      expect(got.headerBytes).toEqual([2, 4, 4, 10, 10]);
    }
  });

  it('answers a ping with a masked pong carrying the same payload', () => {
    const { reader, got } = recorder();
    reader.push(serverFrame(OP_PING, 'are you there?'));
    expect(got.sent).toHaveLength(1);
    expect(decodeClientFrame(got.sent[0]!)).toEqual({
      fin: true,
      opcode: OP_PONG,
      payload: Buffer.from('are you there?'),
    });
    expect(got.messages).toEqual([]);
  });

  it('reports the close code, answers with a masked close, and reads nothing after it', () => {
    const { reader, got } = recorder();
    const close = Buffer.concat([Buffer.from([0x0f, 0xa8]), Buffer.from('slow consumer')]);
    reader.push(Buffer.concat([serverFrame(OP_CLOSE, close), serverFrame(OP_TEXT, 'late')]));
    expect(got.closes).toEqual([4008]);
    expect(decodeClientFrame(got.sent[0]!)).toEqual({
      fin: true,
      opcode: OP_CLOSE,
      payload: Buffer.from([0x0f, 0xa8]),
    });
    reader.push(serverFrame(OP_TEXT, 'later'));
    expect(got.messages).toEqual([]);
  });

  it('reports 1005 for a close frame without a code', () => {
    const { reader, got } = recorder();
    reader.push(serverFrame(OP_CLOSE, ''));
    expect(got.closes).toEqual([1005]);
    expect(decodeClientFrame(got.sent[0]!).payload.length).toBe(0);
  });

  it.each([
    ['a masked frame', serverFrame(OP_TEXT, 'x', { mask: true }), /masked/],
    ['a reserved opcode', serverFrame(3, 'x'), /reserved opcode 3/],
    ['a reserved control opcode', serverFrame(0x0b, ''), /reserved opcode 11/],
    ['a continuation without a message', serverFrame(OP_CONTINUATION, 'x'), /continuation/],
    ['a fragmented ping', serverFrame(OP_PING, 'x', { fin: false }), /control frame/],
  ])('rejects %s and reads nothing after it', (_, frame, message) => {
    const { reader, got } = recorder();
    reader.push(Buffer.concat([frame, serverFrame(OP_TEXT, 'after')]));
    expect(got.errors).toHaveLength(1);
    expect(got.errors[0]).toMatch(message);
    expect(got.messages).toEqual([]);
  });
});

describe('client frames', () => {
  it.each([0, 1, 125, 126, 65_535, 65_536, 70_000])('masks and frames %i bytes', (n) => {
    const payload = long(n);
    const frame = clientFrame(OP_BINARY, payload);
    expect(decodeClientFrame(frame)).toEqual({ fin: true, opcode: OP_BINARY, payload });
  });

  it('sends strings as text frames and buffers as binary frames', () => {
    expect(decodeClientFrame(messageFrame('42["subscribe",{}]'))).toEqual({
      fin: true,
      opcode: OP_TEXT,
      payload: Buffer.from('42["subscribe",{}]'),
    });
    const mqtt = Buffer.from([0x10, 2, 0, 4]);
    expect(decodeClientFrame(messageFrame(mqtt))).toEqual({ fin: true, opcode: OP_BINARY, payload: mqtt });
  });

  it('uses a fresh mask key per frame', () => {
    const keys = new Set(Array.from({ length: 20 }, () => messageFrame('x').subarray(2, 6).toString('hex')));
    expect(keys.size).toBeGreaterThan(1);
  });
});

describe('openWebSocket against a ws server', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  const listen = async (handle?: (ws: import('ws').WebSocket, url: string, protocol: string) => void) => {
    server = createServer((_req, res) => res.writeHead(404).end('no'));
    if (handle) {
      const wss = new WebSocketServer({ server, perMessageDeflate: false });
      wss.on('connection', (ws, req) => handle(ws, req.url!, ws.protocol));
    }
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };

  it('opens with a path, a query and a subprotocol, exchanges messages, and reads the close code', async () => {
    const seen: string[] = [];
    const port = await listen((ws, url, protocol) => {
      seen.push(url, protocol);
      ws.on('message', (data, isBinary) => {
        seen.push(`${isBinary ? 'binary' : 'text'}:${data.toString()}`);
        ws.send('small');
        ws.send(long(70_000));
        ws.ping('p');
        ws.close(4008, 'bye');
      });
      ws.on('pong', (data) => seen.push(`pong:${data.toString()}`));
    });
    const { socket, head } = await openWebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&t=1`, 'mqtt');
    const messages: number[] = [];
    const closed = new Promise<number>((resolve, reject) => {
      let code = 1006;
      const reader = new FrameReader({
        message: (payload) => messages.push(payload.length),
        send: (frame) => socket.write(frame),
        close: (c) => {
          code = c;
          socket.end();
        },
        error: reject,
      });
      socket.on('data', (chunk: Buffer) => reader.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve(code));
      socket.resume();
      reader.push(head);
    });
    socket.write(messageFrame('hello'));
    expect(await closed).toBe(4008);
    expect(messages).toEqual([5, 70_000]);
    expect(seen).toEqual(['/socket.io/?EIO=4&t=1', 'mqtt', 'text:hello', 'pong:p']);
  });

  it('reads through a shared read buffer without the readable stream', async () => {
    const port = await listen((ws) => {
      ws.send('small');
      ws.send(long(70_000));
      ws.close(1000);
    });
    const shared = Buffer.alloc(4096);
    const { socket, head, onChunk } = await openWebSocket(`ws://127.0.0.1:${port}/`, undefined, {}, shared);
    const messages: string[] = [];
    const closed = new Promise<number>((resolve, reject) => {
      const reader = new FrameReader(
        {
          message: (payload) => messages.push(payload.toString('latin1')),
          send: (frame) => socket.write(frame),
          close: (code) => {
            socket.end();
            resolve(code);
          },
          error: reject,
        },
        true,
      );
      onChunk((chunk) => {
        expect(chunk.buffer).toBe(shared.buffer);
        reader.push(chunk);
      });
      socket.on('error', reject);
      socket.resume();
      reader.push(head);
    });
    expect(await closed).toBe(1000);
    expect(messages).toEqual(['small', long(70_000).toString('latin1')]);
  });

  it('rejects a response other than 101 with its status line', async () => {
    const port = await listen();
    await expect(openWebSocket(`ws://127.0.0.1:${port}/`)).rejects.toThrow(/HTTP\/1\.1 404 Not Found/);
  });
});

describe('Needle', () => {
  const QUOTE = '"type":"quote"';
  const needle = new Needle(Buffer.from(QUOTE), 8);
  /** The plain multi-byte indexOf count the needle replaces. */
  const naive = (data: Buffer) => {
    let n = 0;
    for (let i = data.indexOf(QUOTE); i !== -1; i = data.indexOf(QUOTE, i + QUOTE.length)) n++;
    return n;
  };

  it.each([
    ['', 0],
    [QUOTE, 1],
    [`[{${QUOTE},"symbol":"T00Q","quote":"q"},{${QUOTE}}]`, 2],
    [`42["quote",{${QUOTE},"ts":"x"}]`, 1],
    ['"type":"quotes" "type":"quot" type":"quote" "type":"quote', 0],
    [`${QUOTE}${QUOTE}${QUOTE}`, 3],
    // Sharing the closing quote: overlapping, counted once as indexOf does.
    [`"type":"quote"type":"quote"`, 1],
    [`qqqq${QUOTE.slice(0, 13)}`, 0],
  ])('counts %j as %i, as indexOf would', (text, expected) => {
    const data = Buffer.from(text);
    expect(needle.count(data)).toBe(expected);
    expect(naive(data)).toBe(expected);
  });

  it('finds what indexOf finds from any offset, in a view into a larger buffer', () => {
    const backing = Buffer.from(`xx{${QUOTE},"q":1,${QUOTE}}yy`);
    const data = backing.subarray(2, backing.length - 2);
    for (let from = 0; from <= data.length + 1; from++)
      expect(needle.indexIn(data, from), `from ${from}`).toBe(data.indexOf(QUOTE, from));
    // The needle cut off by the end of the view is not there.
    expect(needle.count(backing.subarray(0, backing.length - 4))).toBe(1);
  });

  it("counts like indexOf on random text made of the needle's bytes", () => {
    const alphabet = '"type:quo';
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 200; round++) {
      const pieces = Array.from({ length: 40 }, () =>
        random() < 0.2 ? QUOTE : alphabet[Math.floor(random() * alphabet.length)]!,
      );
      const data = Buffer.from(pieces.join(''));
      expect(needle.count(data)).toBe(naive(data));
    }
  });
});
