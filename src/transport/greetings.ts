import type { Hub } from '../hub/hub.ts';
import { PROTOCOL_VERSION, type BarInterval, type ServerMessage } from '../protocol/messages.ts';
import { ConnectionInterest } from './interest.ts';
import { FULL_SNAPSHOT } from './send-queue.ts';
import type { Outgoing } from './sink.ts';

/**
 * hello then status, the same for everyone who connects at one seq: serialized once, and for
 * WebSocket clients one frame built once. SSE sends them as two events.
 */
export class GreetingCache {
  private cached: { key: string; status: ServerMessage; frame: Outgoing; parts: Outgoing[] } | undefined;
  private version = 0;

  constructor(
    private readonly hub: Hub,
    private readonly heartbeatMs: number,
  ) {}

  /** The greeting items for a new client of `transport`. */
  greeting(transport: 'ws' | 'sse'): readonly Outgoing[] {
    const { hub } = this;
    const key = `hello:${hub.epoch}:${hub.seq}`;
    if (this.cached?.key !== key || this.cached.status !== hub.status) {
      const hello: ServerMessage = {
        type: 'hello',
        version: PROTOCOL_VERSION,
        epoch: hub.epoch,
        seq: hub.seq,
        heartbeatMs: this.heartbeatMs,
      };
      const parts = [{ json: JSON.stringify(hello) }, { json: JSON.stringify(hub.status) }];
      const frame = {
        json: `[${parts[0]!.json},${parts[1]!.json}]`,
        alone: `greeting:${++this.version}`,
        count: 2,
      };
      this.cached = { key, status: hub.status, frame, parts };
    }
    return transport === 'ws' ? [this.cached.frame] : this.cached.parts;
  }
}

/** The snapshot of every quote, built once per hub seq: a reconnect storm asks for it thousands of times. */
export class SnapshotCache {
  private cached: { epoch: string; seq: number; item: Outgoing } | undefined;

  constructor(private readonly hub: Hub) {}

  /** The full quotes snapshot, shared as is by every subscriber at this seq. */
  fullSnapshot(): Outgoing {
    const { hub } = this;
    if (this.cached?.seq !== hub.seq || this.cached.epoch !== hub.epoch) {
      const message: ServerMessage = {
        type: 'snapshot',
        channel: 'quotes',
        seq: hub.seq,
        quotes: hub.snapshot(),
      };
      const alone = `${FULL_SNAPSHOT}${hub.epoch}:${hub.seq}`;
      this.cached = { epoch: hub.epoch, seq: hub.seq, item: { json: JSON.stringify(message), alone } };
    }
    return this.cached.item;
  }
}

/**
 * Candle snapshots held at once, and their text at most (beyond one snapshot): a few pages'
 * charts. A request beyond them is built anew, and the oldest make room.
 */
const CANDLE_SNAPSHOTS_HELD = 8;
const CANDLE_SNAPSHOT_CHARS = 32 * 1024 * 1024;

/**
 * How many events a held candle snapshot may lag the hub by and still be sent, the candles
 * changed since following it: about two seconds of a busy feed.
 */
export const CANDLE_SNAPSHOT_LAG = 2000;

/** A candle snapshot as held: shared as is, at `seq`. */
export interface HeldCandleSnapshot {
  item: Outgoing;
  seq: number;
  /** How many candles it holds. */
  candles: number;
}

/**
 * Candle snapshots, each built once per request (interval and symbols as sent) and shared while
 * it lags the hub by at most CANDLE_SNAPSHOT_LAG events: a day of bars of every symbol is a query
 * and a message of hundreds of ms, and as every quote moves the seq, a snapshot per seq would be
 * built anew for each subscriber, a reconnect storm or a client asking again and again.
 */
export class CandleSnapshotCache {
  private readonly held = new Map<string, HeldCandleSnapshot & { epoch: string }>();
  private chars = 0;

  constructor(private readonly hub: Hub) {}

  /**
   * The snapshot for a subscription to `symbols` (all when absent) at `interval`: one held that
   * lags the hub a little (the caller sends the candles changed since after it), or, when none
   * is or `fresh` asks, one built now.
   */
  snapshot(interval: BarInterval, symbols: readonly string[] | undefined, fresh = false): HeldCandleSnapshot {
    const { hub } = this;
    const key = `${interval} ${JSON.stringify(symbols ?? null)}`;
    const kept = this.held.get(key);
    // Only one from at or before the hub's seq: a hub restored to an earlier one (a reload) has
    // no candles "since" a snapshot ahead of it.
    const lag = kept && kept.epoch === hub.epoch ? hub.seq - kept.seq : -1;
    if (kept && !fresh && lag >= 0 && lag <= CANDLE_SNAPSHOT_LAG) return kept;
    if (kept) {
      this.held.delete(key);
      this.chars -= kept.item.json.length;
    }
    const requested = new ConnectionInterest();
    requested.addQuotes(symbols);
    const candles = hub.queryBars({ interval, symbol: (s) => requested.wantsQuote(s) });
    const message: ServerMessage = { type: 'snapshot', channel: 'candles', interval, seq: hub.seq, candles };
    const item = { json: JSON.stringify(message), alone: `candles:${hub.epoch}:${hub.seq}:${key}` };
    for (const [oldest, held] of this.held) {
      if (this.held.size < CANDLE_SNAPSHOTS_HELD && this.chars + item.json.length <= CANDLE_SNAPSHOT_CHARS)
        break;
      this.held.delete(oldest);
      this.chars -= held.item.json.length;
    }
    const built = { item, seq: hub.seq, epoch: hub.epoch, candles: candles.length };
    this.held.set(key, built);
    this.chars += item.json.length;
    return built;
  }
}
