import { BehaviorSubject, Subject, type Observable, type OperatorFunction, map } from 'rxjs';
import type {
  Headline,
  HeadlineMessage,
  HubMessage,
  Position,
  Quote,
  QuoteMessage,
  QuoteValues,
  StatusMessage,
} from '../protocol/messages.ts';
import type { Change } from '../diff/changes.ts';
import { mergeDeltas } from '../diff/merge-deltas.ts';
import { History, type HistoryLimits } from './history.ts';
import { newEpoch } from './epoch.ts';

/** Which events a subscriber wants; resume filters history through it. */
export interface Interest {
  wantsQuote(symbol: string): boolean;
  readonly wantsHeadlines: boolean;
}

export type ResumeResult = { recovered: true; messages: HubMessage[] } | { recovered: false };

export interface HubOptions {
  history: HistoryLimits;
  /** How many recent headlines a headlines subscriber gets on subscribe. */
  headlineCount: number;
  epoch?: string;
  now?: () => number;
}

/** Where a restarted hub continues from (persistence and scale-out restore through this). */
export interface HubState {
  epoch: string;
  seq: number;
  quotes: Quote[];
  headlines: Headline[];
  history: HubMessage[];
}

/**
 * The single source of truth for what clients see: stamps each change with `seq` and the
 * symbol's `v`, keeps the current snapshot, the latest headlines and a bounded history,
 * and answers resume requests. State is updated before an event is emitted.
 */
export class Hub {
  epoch: string;
  seq = 0;
  private readonly quotes = new Map<string, Quote>();
  private headlines: Headline[] = [];
  private readonly history: History;
  private readonly messagesSubject = new Subject<HubMessage>();
  private readonly statusSubject: BehaviorSubject<StatusMessage>;
  private readonly now: () => number;

  /** Every stamped event, in seq order. */
  readonly messages$: Observable<HubMessage> = this.messagesSubject.asObservable();
  /** The latest source and market status; replays the current one to each subscriber. */
  readonly status$: Observable<StatusMessage>;

  constructor(private readonly options: HubOptions) {
    this.epoch = options.epoch ?? newEpoch();
    this.now = options.now ?? Date.now;
    this.history = new History(options.history);
    this.statusSubject = new BehaviorSubject<StatusMessage>({
      type: 'status',
      source: 'none',
      state: 'running',
      market: 'closed',
      asOf: new Date(this.now()).toISOString(),
    });
    this.status$ = this.statusSubject.asObservable();
  }

  /** Stamps a change from the diff stage, records it and emits it. */
  apply(change: Change): HubMessage {
    const message: HubMessage =
      change.type === 'quote'
        ? {
            type: 'quote',
            seq: this.seq + 1,
            symbol: change.symbol,
            v: (this.quotes.get(change.symbol)?.v ?? 0) + 1,
            ...change.fields,
            ts: change.ts,
          }
        : { type: 'headline', seq: this.seq + 1, ...change.headline };
    this.accept(message);
    return message;
  }

  /** Records an event stamped elsewhere (an ingest process) and emits it. */
  accept(message: HubMessage): void {
    this.seq = message.seq;
    if (message.type === 'quote') this.storeQuote(message);
    else this.storeHeadline(message);
    this.history.add(message, this.now());
    this.messagesSubject.next(message);
  }

  private storeQuote(message: QuoteMessage): void {
    const { type: _type, seq: _seq, ...fields } = message;
    const prev = this.quotes.get(message.symbol);
    this.quotes.set(message.symbol, { ...(prev as Quote), ...(fields as Partial<Quote>) } as Quote);
  }

  private storeHeadline(message: HeadlineMessage): void {
    const { type: _type, seq: _seq, ...headline } = message;
    this.headlines.push(headline);
    if (this.headlines.length > this.options.headlineCount) this.headlines.shift();
  }

  /** Publishes a new status when it differs from the current one. */
  setStatus(status: Omit<StatusMessage, 'type' | 'asOf'>): void {
    const cur = this.statusSubject.value;
    if (cur.source === status.source && cur.state === status.state && cur.market === status.market) return;
    this.statusSubject.next({ type: 'status', ...status, asOf: new Date(this.now()).toISOString() });
  }

  get status(): StatusMessage {
    return this.statusSubject.value;
  }

  /** Current quotes, in symbol order; all of them, or those `wants` accepts. */
  snapshot(wants: (symbol: string) => boolean = () => true): Quote[] {
    return [...this.quotes.values()]
      .filter((q) => wants(q.symbol))
      .sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  }

  /** The current values of every symbol, to seed the diff after a restart. */
  currentValues(): Map<string, QuoteValues> {
    return new Map(
      [...this.quotes].map(([s, q]) => [
        s,
        {
          kind: q.kind,
          price: q.price,
          change: q.change,
          changePercent: q.changePercent,
          direction: q.direction,
        },
      ]),
    );
  }

  /** The latest headlines, newest last. */
  latestHeadlines(limit = this.options.headlineCount): Headline[] {
    return this.headlines.slice(-limit);
  }

  get position(): Position {
    return { epoch: this.epoch, seq: this.seq };
  }

  /**
   * What a subscriber missed since `since`: quote deltas merged per symbol and headlines,
   * in seq order; or `recovered: false` when the epoch differs or history does not reach back.
   */
  resume(since: Position, interest: Interest): ResumeResult {
    if (since.epoch !== this.epoch || since.seq > this.seq) return { recovered: false };
    if (since.seq === this.seq) return { recovered: true, messages: [] };
    this.history.evict(this.now());
    const first = this.history.firstSeq;
    if (first === undefined || first > since.seq + 1) return { recovered: false };
    const merged = new Map<string, QuoteMessage>();
    const out: HubMessage[] = [];
    for (const m of this.history.after(since.seq)) {
      if (m.type === 'headline') {
        if (interest.wantsHeadlines) out.push(m);
      } else if (interest.wantsQuote(m.symbol)) {
        const prev = merged.get(m.symbol);
        merged.set(m.symbol, prev ? mergeDeltas(prev, m) : m);
      }
    }
    return { recovered: true, messages: [...out, ...merged.values()].sort((a, b) => a.seq - b.seq) };
  }

  /** Everything needed to continue this hub elsewhere or after a restart. */
  exportState(): HubState {
    return {
      epoch: this.epoch,
      seq: this.seq,
      quotes: this.snapshot(),
      headlines: [...this.headlines],
      history: this.history.all(),
    };
  }

  /** Continues from a saved state: same epoch and seq, same snapshot and history. */
  restore(state: HubState): void {
    this.epoch = state.epoch;
    this.seq = state.seq;
    this.quotes.clear();
    for (const q of state.quotes) this.quotes.set(q.symbol, q);
    this.headlines = state.headlines.slice(-this.options.headlineCount);
    for (const m of state.history) this.history.add(m, this.now());
  }

  /** Ends the event streams; subscribers complete. */
  close(): void {
    this.messagesSubject.complete();
    this.statusSubject.complete();
  }
}

/** Stamps each change through the hub, emitting the wire message. */
export const publishTo =
  (hub: Hub): OperatorFunction<Change, HubMessage> =>
  (changes) =>
    changes.pipe(map((change) => hub.apply(change)));
