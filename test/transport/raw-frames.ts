import { once } from 'node:events';
import type { Socket } from 'node:net';
import { openWebSocket } from '../../bench/ws-frames.ts';

/** Every header bit a client frame can get wrong, for building malformed frames on purpose. */
export interface RawFrame {
  opcode: number;
  payload?: Buffer;
  fin?: boolean;
  /** The three reserved bits (RSV1..3), as a number 0..7. */
  rsv?: number;
  /** Clients must mask; false sends the payload bare. */
  masked?: boolean;
  /** Announces this length instead of the payload's (a lie the server must survive). */
  length?: number;
}

/** One WebSocket frame as the bytes a client would write, whatever RFC 6455 says about them. */
export const rawFrame = ({
  opcode,
  payload = Buffer.alloc(0),
  fin = true,
  rsv = 0,
  masked = true,
  length,
}: RawFrame) => {
  const announced = length ?? payload.length;
  const ext = announced < 126 ? 0 : announced < 65_536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (masked ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  head[1] = (masked ? 0x80 : 0) | (ext === 0 ? announced : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(announced, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(announced), 2);
  if (!masked) return Buffer.concat([head, payload]);
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  key.copy(head, 2 + ext);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i & 3]!));
  return Buffer.concat([head, body]);
};

/** The close code and reason of the first close frame in a server's byte stream, if one came whole. */
export const closeFrameIn = (bytes: Buffer): { code: number; reason: string } | undefined => {
  let at = 0;
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at]! & 0x0f;
    let length = bytes[at + 1]! & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (start + 2 > bytes.length) return undefined;
      length = bytes.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      if (start + 8 > bytes.length) return undefined;
      length = Number(bytes.readBigUInt64BE(start));
      start += 8;
    }
    if (start + length > bytes.length) return undefined;
    if (opcode === 8)
      return {
        code: length >= 2 ? bytes.readUInt16BE(start) : 1005,
        reason: bytes.toString('utf8', start + 2, start + length),
      };
    at = start + length;
  }
  return undefined;
};

/** A raw socket after the WebSocket handshake at `url`, keeping what the server sends. */
export const rawClient = async (url: string, headers: Record<string, string> = {}) => {
  const { socket, head } = await openWebSocket(url, undefined, headers);
  let received = head;
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  socket.on('error', () => {});
  socket.resume();
  return { socket, received: () => received };
};

/** Writes `bytes` unless the server already hung up, then waits for the socket to close (cut off after `timeoutMs`). */
export const sendAndWaitClose = async (socket: Socket, bytes: Buffer, timeoutMs = 2000) => {
  if (!socket.destroyed) socket.write(bytes);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  if (!socket.closed) await once(socket, 'close');
  clearTimeout(timer);
};
