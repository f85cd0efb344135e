import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import type { EventMessage } from '../protocol/messages.ts';
import { closeReason } from './close-reason.ts';
import { rawSocketOf, textFrame } from './ws-adapter.ts';

/** A serialized message on its way to a client; `tick` marks one shared by a whole fan-out tick. */
export interface Outgoing {
  readonly json: string;
  /** The hub event it carries, when it is one (conflation and resume need the object). */
  readonly message?: EventMessage;
  /** Its position in this tick's fan-out: items with one may share encoded frames. */
  readonly tick?: number;
  /** Set on a large message shared as is (the full snapshot): it goes as its own frame, encoded once under this key. */
  readonly alone?: string;
  /** How many messages it holds when it is a ready-made array of several (the greeting). */
  readonly count?: number;
}

type Encode = (batch: readonly Outgoing[]) => Buffer;

/**
 * What identifies a shared frame: a number for a run of this tick's shared items (see
 * `runKey`), a string for a large message shared as is (its `alone` key), kept across ticks.
 */
export type FrameKey = number | string;

/** Room for run lengths in a run key: far more items than one client gets in one tick. */
const RUN_LENGTHS = 2 ** 26;

/** The key of the run of `length` shared items starting at tick position `first`. */
export const runKey = (first: number, length: number): number => first * RUN_LENGTHS + length;

/** Shared large frames kept across ticks: the current greeting and snapshot per sink kind, and some slack. */
const LASTING_FRAMES = 8;

/**
 * Encoded frames of one fan-out tick, by sink kind and batch key: clients that receive the
 * same run of shared items (all subscribers of a busy feed, say) share one buffer. Run keys
 * are numbers so that finding a client's frame builds no string per client.
 */
export class FrameCache {
  private readonly frames = new Map<string, Map<number, Buffer>>();
  // Large messages shared as is (the greeting and snapshot of one seq) outlive the tick; a few are kept.
  private readonly lasting = new Map<string, Buffer>();

  /** The encoded frame for `batch`: built once per key and kind, or every time without a key. */
  get(kind: string, batch: readonly Outgoing[], key: FrameKey | undefined, encode: Encode): Buffer {
    if (key === undefined) return encode(batch);
    if (typeof key === 'string') {
      const id = `${kind}|${key}`;
      let kept = this.lasting.get(id);
      if (!kept) {
        this.lasting.set(id, (kept = encode(batch)));
        if (this.lasting.size > LASTING_FRAMES) this.lasting.delete(this.lasting.keys().next().value!);
      }
      return kept;
    }
    let ofKind = this.frames.get(kind);
    if (!ofKind) this.frames.set(kind, (ofKind = new Map()));
    let bytes = ofKind.get(key);
    if (!bytes) ofKind.set(key, (bytes = encode(batch)));
    return bytes;
  }

  /** Forgets this tick's frames. */
  clear(): void {
    this.frames.clear();
  }
}

/** Where a connection's frames go: a WebSocket or an SSE response. */
export interface Sink {
  /** Bytes accepted for this client and not yet on the wire. */
  bufferedAmount(): number;
  /** Writes one batch as one frame, shared through `frames` under `key` when given; returns the bytes written. */
  write(batch: readonly Outgoing[], frames: FrameCache, key: FrameKey | undefined): number;
  /** Calls `listener` once the socket buffer has drained. */
  onDrain(listener: () => void): void;
  close(code: number, reason: string): void;
  /** Cuts the connection without a goodbye (a dead or stalled peer). */
  terminate(): void;
  /** Calls `listener` once the connection is closed (at once if it already is). */
  onClosed(listener: () => void): void;
  /** Sends a protocol-level ping whose pong proves the peer alive; WebSocket only. */
  ping?(): void;
  /** Stops reading what the client sends, until `resume` (an SSE stream sends nothing). */
  pause(): void;
  resume(): void;
  readonly open: boolean;
}

/** The JSON text of a batch: one message as itself, several as a JSON array (protocol.md). */
export const batchText = (batch: readonly Outgoing[]): string =>
  batch.length === 1 ? batch[0]!.json : `[${batch.map((o) => o.json).join(',')}]`;

const encodeWs: Encode = (batch) => textFrame(Buffer.from(batchText(batch)));

/**
 * A `ws` socket written with frames built once per distinct batch. Writing pre-framed bytes to
 * the raw socket is safe because permessage-deflate is off, so ws's sender never holds a frame
 * back that ours could overtake.
 */
export class WsSink implements Sink {
  private readonly raw: Duplex | undefined;

  constructor(private readonly ws: WebSocket) {
    this.raw = rawSocketOf(ws);
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  write(batch: readonly Outgoing[], frames: FrameCache, key: FrameKey | undefined): number {
    if (!this.open) return 0;
    if (!this.raw) {
      const text = batchText(batch);
      this.ws.send(text);
      return Buffer.byteLength(text);
    }
    const bytes = frames.get('ws', batch, key, encodeWs);
    this.raw.write(bytes);
    return bytes.length;
  }

  onDrain(listener: () => void): void {
    this.raw?.once('drain', listener);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, closeReason(reason));
  }

  terminate(): void {
    this.ws.terminate();
  }

  onClosed(listener: () => void): void {
    if (this.ws.readyState === WebSocket.CLOSED) listener();
    else this.ws.once('close', () => listener());
  }

  /** Sends a WebSocket ping; the peer's pong proves it is alive. */
  ping(): void {
    if (this.open) this.ws.ping();
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }
}

/** Server-Sent Events: each message an event, with `id: epoch:seq` on hub events for Last-Event-ID. */
export class SseSink implements Sink {
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly epoch: () => string,
  ) {
    res.once('close', () => (this.ended = true));
  }

  get open(): boolean {
    return !this.ended && !this.res.writableEnded;
  }

  bufferedAmount(): number {
    return this.res.writableLength + (this.res.socket?.writableLength ?? 0);
  }

  write(batch: readonly Outgoing[], frames: FrameCache, key: FrameKey | undefined): number {
    if (!this.open) return 0;
    const epoch = this.epoch();
    const bytes = frames.get(`sse:${epoch}`, batch, key, (items) =>
      Buffer.from(
        items
          .map((o) =>
            o.message ? `id: ${epoch}:${o.message.seq}\ndata: ${o.json}\n\n` : `data: ${o.json}\n\n`,
          )
          .join(''),
      ),
    );
    this.res.write(bytes);
    return bytes.length;
  }

  onDrain(listener: () => void): void {
    this.res.once('drain', listener);
  }

  close(code: number, reason: string): void {
    // SSE has no close frame: the reason goes out as a last event, then the stream ends.
    if (this.open) this.res.end(`event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`);
  }

  terminate(): void {
    this.res.destroy();
  }

  onClosed(listener: () => void): void {
    if (this.res.closed) listener();
    else this.res.once('close', listener);
  }

  pause(): void {}

  resume(): void {}
}
