/**
 * Every use of `ws` internals, in one place: the raw socket under a WebSocket and ws's frame
 * builder. Neither is part of ws's typed API; test/transport/ws-adapter.test.ts fails when a ws
 * upgrade changes either, and package.json pins ws to one minor line.
 */
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import * as wsModule from 'ws';

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}

// ws exports its frame builder at runtime; @types/ws does not declare it.
const { Sender } = wsModule as unknown as {
  Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] };
};

const TEXT: FrameOptions = { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false };

/** One whole unmasked text frame (server to client) holding `payload`, header and all. */
export const textFrame = (payload: Buffer): Buffer => Buffer.concat(Sender.frame(payload, TEXT));

/**
 * The socket a server-side WebSocket writes to, for frames built once and shared by many
 * clients; undefined if ws no longer exposes it (callers then fall back to `ws.send`).
 */
export const rawSocketOf = (ws: WebSocket): Duplex | undefined =>
  (ws as unknown as { _socket?: Duplex })._socket ?? undefined;
