/**
 * A minimal WebSocket client for the load generator (RFC 6455, no extensions): the opening
 * handshake on a raw `node:net` socket, a frame reader for server frames and a writer of masked
 * client frames. It does far less per frame than the `ws` client (no stream per frame, no UTF-8
 * validation, no event per message): the load generator must count a million deliveries a
 * second on one core.
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Larger frames are refused as a protocol error (the `ws` client's default limit). */
const MAX_PAYLOAD = 100 * 2 ** 20;
const HEADERS_END = Buffer.from('\r\n\r\n');
/** A server that sends this much without ending its response headers is not a WebSocket server. */
const MAX_RESPONSE_HEAD = 64 * 1024;

export const OP_CONTINUATION = 0;
export const OP_TEXT = 1;
export const OP_BINARY = 2;
export const OP_CLOSE = 8;
export const OP_PING = 9;
export const OP_PONG = 10;

/** Where a `FrameReader` hands what it read. */
export interface FrameSink {
  /**
   * A complete text or binary message (fragments joined). `payload` is a view into the received
   * chunk when the frame lay in one; `headerBytes` counts the frame headers it came with.
   */
  message(payload: Buffer, headerBytes: number): void;
  /** A masked frame to send back: the pong to a ping, the reply to a close. */
  send(frame: Buffer): void;
  /** The server's close frame arrived (code 1005 when it carried none); the reply is sent. */
  close(code: number): void;
  /** A protocol violation: the connection must be dropped. Nothing is read after it. */
  error(err: Error): void;
}

/** A masked client frame (RFC 6455 §5.3): a fresh 4-byte mask key, the payload XORed with it. */
export const clientFrame = (opcode: number, payload: Buffer, fin = true): Buffer => {
  const length = payload.length;
  const ext = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + ext + 4 + length);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  if (ext === 0) frame[1] = 0x80 | length;
  else if (ext === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  const mask = 2 + ext;
  randomFillSync(frame, mask, 4);
  const start = mask + 4;
  for (let i = 0; i < length; i++) frame[start + i] = payload[i]! ^ frame[mask + (i & 3)]!;
  return frame;
};

/** What `ws.send` would put on the wire: a text frame for a string, a binary frame for bytes. */
export const messageFrame = (data: string | Buffer): Buffer =>
  typeof data === 'string' ? clientFrame(OP_TEXT, Buffer.from(data)) : clientFrame(OP_BINARY, data);

/**
 * Reads server frames from the chunks of a TCP stream. Per chunk it walks the frame headers;
 * a payload inside one chunk is handed on as a `subarray`, and only one spanning chunks (or
 * fragmented) is copied together. `borrowed`: chunks are views into a read buffer the socket
 * reuses (`openWebSocket`'s `readBuffer`), so whatever is kept past the call is copied.
 */
export class FrameReader {
  /** Header bytes of a frame whose header was split across chunks. */
  private head: Buffer | undefined;
  /** The pieces so far of a payload spanning chunks, and how many bytes it still lacks. */
  private parts: Buffer[] = [];
  private missing = 0;
  private partLength = 0;
  private partFin = false;
  private partOpcode = 0;
  private partHeader = 0;
  /** Fragments of a message sent as several frames (FIN = 0, then continuations). */
  private fragments: Buffer[] = [];
  private fragmentsLength = 0;
  private fragmentsHeader = 0;
  private fragmented = false;
  private done = false;

  constructor(
    private readonly sink: FrameSink,
    private readonly borrowed = false,
  ) {}

  /** A piece kept for later: a copy when the chunk it lies in will be overwritten. */
  private keep(piece: Buffer): Buffer {
    return this.borrowed ? Buffer.from(piece) : piece;
  }

  push(chunk: Buffer): void {
    if (this.done) return;
    let data = chunk;
    let pos = 0;
    if (this.missing > 0) {
      if (chunk.length < this.missing) {
        this.parts.push(this.keep(chunk));
        this.missing -= chunk.length;
        return;
      }
      pos = this.missing;
      this.parts.push(chunk.subarray(0, pos));
      const payload = Buffer.concat(this.parts, this.partLength);
      this.parts = [];
      this.missing = 0;
      this.frame(this.partFin, this.partOpcode, payload, this.partHeader);
      if (this.done) return;
    } else if (this.head !== undefined) {
      data = Buffer.concat([this.head, chunk]);
      this.head = undefined;
    }
    const end = data.length;
    while (pos < end) {
      const available = end - pos;
      if (available < 2) return this.keepHead(data, pos);
      const b0 = data[pos]!;
      const b1 = data[pos + 1]!;
      if (b1 & 0x80) return this.fail('masked frame from the server');
      let length = b1 & 0x7f;
      let header = 2;
      if (length === 126) {
        if (available < 4) return this.keepHead(data, pos);
        length = data.readUInt16BE(pos + 2);
        header = 4;
      } else if (length === 127) {
        if (available < 10) return this.keepHead(data, pos);
        const high = data.readUInt32BE(pos + 2);
        length = high * 2 ** 32 + data.readUInt32BE(pos + 6);
        header = 10;
        if (length > MAX_PAYLOAD) return this.fail(`frame of ${length} bytes`);
      }
      const start = pos + header;
      const stop = start + length;
      if (stop > end) {
        // The header is read; check it now rather than after buffering the whole payload.
        if (!this.valid(b0, length)) return;
        this.parts.push(this.keep(data.subarray(start)));
        this.missing = stop - end;
        this.partLength = length;
        this.partFin = (b0 & 0x80) !== 0;
        this.partOpcode = b0 & 0x0f;
        this.partHeader = header;
        return;
      }
      pos = stop;
      // The common case, inlined: a whole, final text or binary frame.
      if (b0 === 0x81 || b0 === 0x82) {
        if (this.fragmented) return this.fail('new message inside a fragmented one');
        this.sink.message(data.subarray(start, stop), header);
      } else {
        if (!this.valid(b0, length)) return;
        this.frame((b0 & 0x80) !== 0, b0 & 0x0f, data.subarray(start, stop), header);
      }
      if (this.done) return;
    }
  }

  /** Stops reading: nothing more is handed on (the connection is going away). */
  stop(): void {
    this.done = true;
    this.head = undefined;
    this.parts = [];
    this.fragments = [];
  }

  private keepHead(data: Buffer, pos: number): void {
    this.head = Buffer.from(data.subarray(pos));
  }

  private fail(message: string): void {
    this.stop();
    this.sink.error(new Error(`WebSocket protocol error: ${message}`));
  }

  /** RSV bits (no extension was negotiated), opcodes, and control-frame rules. */
  private valid(b0: number, length: number): boolean {
    const opcode = b0 & 0x0f;
    if (b0 & 0x70) this.fail('reserved bits set');
    else if ((opcode > OP_BINARY && opcode < OP_CLOSE) || opcode > OP_PONG)
      this.fail(`reserved opcode ${opcode}`);
    else if (opcode >= OP_CLOSE && (length > 125 || !(b0 & 0x80)))
      this.fail('control frame fragmented or longer than 125 bytes');
    else return true;
    return false;
  }

  private frame(fin: boolean, opcode: number, payload: Buffer, header: number): void {
    switch (opcode) {
      case OP_TEXT:
      case OP_BINARY:
        if (this.fragmented) return this.fail('new message inside a fragmented one');
        if (fin) return this.sink.message(payload, header);
        this.fragmented = true;
        this.fragments = [this.keep(payload)];
        this.fragmentsLength = payload.length;
        this.fragmentsHeader = header;
        return;
      case OP_CONTINUATION: {
        if (!this.fragmented) return this.fail('continuation frame without a message');
        this.fragments.push(this.keep(payload));
        this.fragmentsLength += payload.length;
        this.fragmentsHeader += header;
        if (this.fragmentsLength > MAX_PAYLOAD) return this.fail(`message of ${this.fragmentsLength} bytes`);
        if (!fin) return;
        const message = Buffer.concat(this.fragments, this.fragmentsLength);
        const headers = this.fragmentsHeader;
        this.fragments = [];
        this.fragmented = false;
        return this.sink.message(message, headers);
      }
      case OP_PING:
        return this.sink.send(clientFrame(OP_PONG, payload));
      case OP_PONG:
        return;
      case OP_CLOSE: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.stop();
        // Echo the status code (RFC 6455 §5.5.1); a close without one is answered without one.
        this.sink.send(clientFrame(OP_CLOSE, payload.length >= 2 ? payload.subarray(0, 2) : Buffer.alloc(0)));
        return this.sink.close(code);
      }
    }
  }
}

/** A WebSocket connection after the opening handshake, its frame stream not yet read. */
export interface OpenedSocket {
  /**
   * Paused, with no listeners: attach `data` (or, with a `readBuffer`, call `onChunk`), `error`
   * and `close`, then `resume()`.
   */
  socket: Socket;
  /** Bytes that came after the response headers: the start of the frame stream. */
  head: Buffer;
  /**
   * With a `readBuffer`: where the socket's chunks go from now on. Each chunk is a view into the
   * shared buffer, valid only during the call.
   */
  onChunk(handler: (chunk: Buffer) => void): void;
}

/** The client's upgrade request for `target`, with its key, subprotocol and extra headers. */
const upgradeRequest = (
  target: URL,
  key: string,
  protocol: string | undefined,
  headers: Record<string, string>,
) =>
  [
    `GET ${target.pathname}${target.search} HTTP/1.1`,
    `Host: ${target.host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Key: ${key}`,
    ...(protocol ? [`Sec-WebSocket-Protocol: ${protocol}`] : []),
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');

/** Why the server's handshake response `head` (status line and headers) is not the upgrade asked for; undefined when it is. */
const handshakeRefusal = (head: string, accept: string, protocol: string | undefined): string | undefined => {
  const lines = head.split('\r\n');
  const status = lines[0]!;
  if (!/^HTTP\/1\.1 101(?: |$)/.test(status)) return `unexpected response "${status}"`;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (headers.get('sec-websocket-accept') !== accept) return 'wrong Sec-WebSocket-Accept';
  const chosen = headers.get('sec-websocket-protocol');
  if (chosen !== protocol) return `subprotocol ${chosen ?? 'none'}, asked for ${protocol ?? 'none'}`;
  return undefined;
};

/**
 * Opens `ws://host:port/path?query` with the opening handshake (RFC 6455 §4.1), sending
 * `headers` besides its own, and resolves once the server accepted it: status 101 and the right
 * `Sec-WebSocket-Accept`. `readBuffer`: the socket reads into this buffer (`net` `onread`), which
 * many sockets may share, and skips the readable stream: no buffer allocated and no stream
 * machinery per read, for a load generator reading thousands of sockets.
 */
export const openWebSocket = (
  url: string,
  protocol?: string,
  headers: Record<string, string> = {},
  readBuffer?: Buffer,
): Promise<OpenedSocket> =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== 'ws:') return reject(new Error(`only ws:// URLs are supported: ${url}`));
    const port = Number(target.port || 80);
    const key = randomBytes(16).toString('base64');
    const accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    let deliver: (chunk: Buffer) => void = () => {};
    const socket = connect({
      host: target.hostname,
      port,
      ...(readBuffer && {
        onread: {
          buffer: readBuffer,
          callback: (n: number, buf: Buffer) => {
            deliver(buf.subarray(0, n));
            return true;
          },
        },
      }),
    });
    socket.setNoDelay(true);
    let received: Buffer = Buffer.alloc(0);
    const fail = (err: Error) => {
      socket.off('data', onData);
      deliver = () => {};
      socket.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      // A copy: with a shared read buffer the chunk is overwritten by the next read.
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf(HEADERS_END);
      if (end === -1) {
        if (received.length > MAX_RESPONSE_HEAD) fail(new Error('WebSocket handshake: response too long'));
        return;
      }
      const refused = handshakeRefusal(received.toString('latin1', 0, end), accept, protocol);
      if (refused) return fail(new Error(`WebSocket handshake: ${refused}`));
      socket.pause();
      socket.off('data', onData);
      deliver = () => {};
      socket.off('error', fail);
      socket.off('close', onClose);
      resolve({
        socket,
        head: received.subarray(end + HEADERS_END.length),
        onChunk: (handler) => (deliver = handler),
      });
    };
    const onClose = () => fail(new Error('WebSocket handshake: connection closed'));
    if (readBuffer) deliver = onData;
    else socket.on('data', onData);
    socket.on('error', fail);
    socket.on('close', onClose);
    socket.on('connect', () => socket.write(upgradeRequest(target, key, protocol, headers)));
  });
