import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, connect, type WebSocketLike } from '../../client/index.ts';

/** A WebSocket whose every connection attempt is refused, like a server that is down. */
class RefusedSocket implements WebSocketLike {
  static attempts: number[] = [];
  static refusals: number[] = [];
  onopen = null;
  onmessage = null;
  onclose: ((event: { code: number }) => void) | null = null;
  onerror = null;
  constructor(_url: string) {
    RefusedSocket.attempts.push(Date.now());
    setTimeout(() => {
      RefusedSocket.refusals.push(Date.now());
      this.onclose?.({ code: 1006 });
    }, 0);
  }
  send(): void {}
  close(): void {}
}

describe('reconnect backoff', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    RefusedSocket.attempts = [];
    RefusedSocket.refusals = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits up to base·2^attempt, capped, between attempts', async () => {
    const client = connect('ws://127.0.0.1:1/ws', {
      WebSocket: RefusedSocket,
      backoff: { baseMs: 100, capMs: 1000 },
      random: () => 0.5,
    });
    await vi.advanceTimersByTimeAsync(5000);
    const gaps = RefusedSocket.attempts.slice(1).map((t, i) => t - RefusedSocket.refusals[i]!);
    expect(gaps.slice(0, 7)).toEqual([50, 100, 200, 400, 500, 500, 500]);
    expect(client.state).toBe('reconnecting');
    client.close();
  });

  it('leaves no timer behind after close()', async () => {
    // A fixed draw: with Math.random, one run in fifty drew a delay under 10 ms and reconnected
    // before close().
    const client = connect('ws://127.0.0.1:1/ws', { WebSocket: RefusedSocket, random: () => 0.5 });
    await vi.advanceTimersByTimeAsync(10);
    expect(client.state).toBe('reconnecting');
    client.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(RefusedSocket.attempts).toHaveLength(1);
  });

  it('spreads delays uniformly below the ceiling (full jitter)', () => {
    expect(backoffDelay(0, { baseMs: 500, capMs: 30_000 }, () => 0)).toBe(0);
    expect(backoffDelay(3, { baseMs: 500, capMs: 30_000 }, () => 0.999)).toBeCloseTo(3996);
    expect(backoffDelay(20, { baseMs: 500, capMs: 30_000 }, () => 0.999)).toBeCloseTo(29_970);
  });
});
