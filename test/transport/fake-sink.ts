import type { FrameCache, FrameKey, Outgoing, Sink } from '../../src/transport/sink.ts';

/** A sink that records each write: the JSON texts of the batch and the frame key it was shared under. */
export class FakeSink implements Sink {
  readonly writes: { texts: string[]; key: FrameKey | undefined }[] = [];
  buffered = 0;
  open = true;
  pings = 0;
  terminated = false;
  closedWith: { code: number; reason: string } | undefined;
  private closedListeners: (() => void)[] = [];

  /** Present on a WebSocket-like sink only. */
  readonly ping?: () => void;

  constructor(canPing = true) {
    if (canPing) this.ping = () => void this.pings++;
  }

  bufferedAmount(): number {
    return this.buffered;
  }
  write(batch: readonly Outgoing[], _frames: FrameCache, key: FrameKey | undefined): number {
    this.writes.push({ texts: batch.map((o) => o.json), key });
    return batch.reduce((n, o) => n + o.json.length, 0);
  }
  onDrain(): void {}
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
    this.open = false;
  }
  terminate(): void {
    this.terminated = true;
    this.open = false;
    this.closedListeners.splice(0).forEach((l) => l());
  }
  onClosed(listener: () => void): void {
    if (!this.open) listener();
    else this.closedListeners.push(listener);
  }
  pause(): void {}
  resume(): void {}
}
