import {
  asyncScheduler,
  BehaviorSubject,
  Subject,
  ignoreElements,
  tap,
  type Observable,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import type {
  Bar,
  BarInterval,
  CandleMessage,
  EventMessage,
  Headline,
  HeadlineMessage,
  HubMessage,
  Position,
  Quote,
  QuoteMessage,
  QuoteValues,
  StatusMessage,
} from '../protocol/messages.ts';
import { quoteValues, type Change, type QuoteChange } from '../diff/changes.ts';
import { mergeDeltas } from '../diff/merge-deltas.ts';
import { HEADLINE_ID_CAPACITY, RecentIds } from '../diff/recent-ids.ts';
import { History, historySteps, type HeldTexts, type HistoryLimits } from './history.ts';
import { newEpoch } from './epoch.ts';
import type { BarLogRef } from './bar-log-copy.ts';
import { barStoreSteps, BarStore, type BarCopySource, type BarQuery } from './bar-store.ts';
import { runAtOnce } from './steps.ts';
import { candleOf } from './candles.ts';

/** Which events a subscriber wants; resume filters history through it. */
export interface Interest {
  wantsQuote(symbol: string): boolean;
  readonly wantsHeadlines: boolean;
  /** Candle subscriptions; absent means none. */
  wantsCandle?(symbol: string, interval: BarInterval): boolean;
}

/** What `resume` answers: the missed events, or that the subscriber needs a snapshot. */
export type ResumeResult = { recovered: true; messages: EventMessage[] } | { recovered: false };

/** Called with each event after the hub's state holds it and before anyone sees it. */
export type Recorder = (message: HubMessage, at: number) => void;

/**
 * The most missed events one resume merges. Merging is linear in what was missed, and one
 * request must not hold the event loop for long whatever position it names; a client further
 * behind gets `recovered: false` and a snapshot, which is then also the smaller answer.
 */
export const RESUME_BUDGET = 5000;

/** How a hub is built. */
export interface HubOptions {
  history: HistoryLimits;
  /** The most missed events a resume merges (default `RESUME_BUDGET`). */
  resumeBudget?: number;
  /** How many recent headlines a headlines subscriber gets on subscribe. */
  headlineCount: number;
  epoch?: string;
  /** The hub's clock (history age, status time); tests pass a TestScheduler. */
  scheduler?: SchedulerLike;
  /** The journal writes here, so a client never sees an event that a restart would lose. */
  record?: Recorder;
  /** How many trading days of bars to fold quotes into and keep; absent or 0: none. */
  barDays?: number;
}

/** Where a restarted hub continues from (persistence and scale-out restore through this). */
export interface HubState {
  epoch: string;
  seq: number;
  quotes: Quote[];
  headlines: Headline[];
  history: HubMessage[];
  /** When each history event was recorded (hub clock, ms), so age eviction survives a restart. */
  historyAt?: number[];
  /** Recently published story ids, so a restarted diff does not announce them again. */
  headlineIds?: string[];
  /** The bars of the last trading days (see `HubOptions.barDays`). */
  bars?: Bar[];
  /**
   * The seq of the event that last changed each of `bars`, so a resume across a restart gets
   * the bars changed after its position. Without it, the bars events in `history` say.
   */
  barSeqs?: number[];
  /** Where the bars before each series' latest are, when `bars` holds only the latest (see `BarLogCopy`). */
  barLog?: BarLogRef;
}

/** A `HubState` whose history is the JSON it is held as (see `History.texts`). */
export type HubStateTexts = Omit<HubState, 'history' | 'historyAt'> & { history: HeldTexts };

/** The source and market parts of a status; `setStatus` takes any of them. */
export type StatusFields = Partial<Omit<StatusMessage, 'type' | 'asOf'>>;

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
  private readonly headlineIds = new RecentIds(HEADLINE_ID_CAPACITY);
  private latest: string | undefined;
  private history: History;
  private bars: BarStore;
  private readonly messagesSubject = new Subject<HubMessage>();
  private readonly restoredSubject = new Subject<Position>();
  private readonly statusSubject: BehaviorSubject<StatusMessage>;
  private readonly scheduler: SchedulerLike;
  /** Whether quotes fold into bars (`barDays` above 0). */
  private readonly foldsBars: boolean;
  private lastTs = '';
  private lastMs = NaN;

  /** Every stamped event, in seq order. */
  readonly messages$: Observable<HubMessage> = this.messagesSubject.asObservable();
  /** The latest source and market status; replays the current one to each subscriber. */
  readonly status$: Observable<StatusMessage>;
  /**
   * Where the hub continues after `restore` replaced its state (an edge reloading the cluster's
   * snapshot): clients that were following the old state must start over from the new one.
   */
  readonly restored$: Observable<Position> = this.restoredSubject.asObservable();

  constructor(private readonly options: HubOptions) {
    this.epoch = options.epoch ?? newEpoch();
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.history = new History(options.history);
    this.bars = new BarStore(options.barDays ?? 0);
    this.foldsBars = (options.barDays ?? 0) > 0;
    this.statusSubject = new BehaviorSubject<StatusMessage>({
      type: 'status',
      source: 'none',
      state: 'running',
      market: 'closed',
      asOf: new Date(this.scheduler.now()).toISOString(),
    });
    this.status$ = this.statusSubject.asObservable();
  }

  /**
   * Stamps a change from the diff stage, records it and emits it, after the bars the feed's
   * clock closed by then (the quote's time, or the clock's own tick, which stamps nothing else).
   */
  apply(change: Change): HubMessage | undefined {
    if (change.type === 'clock') {
      this.closeBars(change.ms);
      return undefined;
    }
    if (change.type === 'quote' && this.foldsBars) this.closeBars(this.feedMs(change.ts));
    const message: HubMessage =
      change.type === 'quote'
        ? this.quoteMessage(change)
        : { type: 'headline', seq: this.seq + 1, ...change.headline };
    this.accept(message);
    return message;
  }

  /** Stamps the bars whose end the feed's clock (`ms`) has reached as closed, in one event. */
  private closeBars(ms: number): void {
    const bars = this.bars.closeDue(ms);
    if (bars.length > 0) this.accept({ type: 'bars', seq: this.seq + 1, bars: [...bars] });
  }

  /** A quote's feed time (`ts`) in ms: a frame's quotes share one `ts` string, parsed once. */
  private feedMs(ts: string): number {
    if (ts !== this.lastTs) this.lastMs = Date.parse((this.lastTs = ts));
    return this.lastMs;
  }

  /**
   * Records an event stamped elsewhere (an ingest process, the journal) and emits it.
   * A seq already held is ignored (false); a gap in seq clears history, since resume
   * cannot reach across events it never saw.
   */
  accept(message: HubMessage, at = this.scheduler.now()): boolean {
    if (message.seq <= this.seq) return false;
    if (message.seq !== this.seq + 1) this.history.clear(message.seq - 1);
    this.seq = message.seq;
    // Bars are held once, latest version only, in the bar store (resume reads them there);
    // history holds what resume replays event by event. A quote's bars are folded from it
    // here, where every hub sees every quote, so none travels as an event of its own.
    if (message.type === 'bars') this.bars.put(message.bars, message.seq);
    else {
      if (message.type === 'quote') {
        // A quote that names no price is at the symbol's last one; before any (a delta of a
        // symbol this hub never saw whole, after a gap) it has none to fold.
        const { price } = this.storeQuote(message);
        if (this.foldsBars && price !== undefined)
          this.bars.fold(message.symbol, price, this.feedMs(message.ts), message.seq);
      } else this.storeHeadline(message);
      if (this.latest === undefined || message.ts > this.latest) this.latest = message.ts;
      this.history.add(message, at);
    }
    this.options.record?.(message, at);
    this.messagesSubject.next(message);
    return true;
  }

  /**
   * The event a quote change becomes, its keys in wire order. Built by assignment: in Node 20
   * a literal that spreads the fields beside other keys takes a slow path (bench/README.md,
   * "Object spreads").
   */
  private quoteMessage(change: QuoteChange): QuoteMessage {
    const message = {
      type: 'quote',
      seq: this.seq + 1,
      symbol: change.symbol,
      v: (this.quotes.get(change.symbol)?.v ?? 0) + 1,
    } as QuoteMessage;
    Object.assign(message, change.fields);
    message.ts = change.ts;
    return message;
  }

  /**
   * Revises the symbol's held quote in place: a new object per change would live until the
   * symbol's next change, long enough to be promoted to the old generation. Nothing outside the
   * hub holds one (`snapshot` hands out copies).
   */
  private storeQuote(message: QuoteMessage): Quote {
    const held = this.quotes.get(message.symbol);
    if (!held) {
      const { type: _type, seq: _seq, ...quote } = message;
      this.quotes.set(message.symbol, quote as Quote);
      return quote as Quote;
    }
    const fields = held as unknown as Record<string, unknown>;
    for (const key in message)
      if (key !== 'type' && key !== 'seq') fields[key] = message[key as keyof QuoteMessage];
    return held;
  }

  private storeHeadline(message: HeadlineMessage): void {
    const { type: _type, seq: _seq, ...headline } = message;
    this.headlines.push(headline);
    if (this.headlines.length > this.options.headlineCount) this.headlines.shift();
    this.headlineIds.add(headline.id);
  }

  /** Publishes a new status when any given part differs from the current one. */
  setStatus(fields: StatusFields): void {
    const cur = this.statusSubject.value;
    const next = { ...cur, ...fields };
    if (cur.source === next.source && cur.state === next.state && cur.market === next.market) return;
    this.statusSubject.next({ ...next, asOf: new Date(this.scheduler.now()).toISOString() });
  }

  /** The current status. */
  get status(): StatusMessage {
    return this.statusSubject.value;
  }

  /** How many symbols have a quote: the size of the snapshot of every quote. */
  get quoteCount(): number {
    return this.quotes.size;
  }

  /** Current quotes, in symbol order; all of them, or those `wants` accepts. */
  snapshot(wants: (symbol: string) => boolean = () => true): Quote[] {
    const out: Quote[] = [];
    for (const q of this.quotes.values()) if (wants(q.symbol)) out.push({ ...q });
    return out.sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  }

  /** The current values of every symbol, to seed the diff after a restart. */
  currentValues(): Map<string, QuoteValues> {
    // A quote restored from before the day fields lacks them: the diff then sends them as changed.
    return new Map([...this.quotes].map(([s, q]) => [s, quoteValues(q as QuoteValues)]));
  }

  /** Story ids published recently, least recent first, to seed headline dedupe after a restart. */
  seenHeadlineIds(): string[] {
    return this.headlineIds.values();
  }

  /** Bars held, ordered by symbol then start (the latest trading day unless `from` says otherwise). */
  queryBars(query: BarQuery): Bar[] {
    return this.bars.query(query);
  }

  /** Every bar held, oldest day first. */
  allBars(): Bar[] {
    return this.bars.all();
  }

  /**
   * The bars as a copy elsewhere (the bus's in Redis, a data directory's) takes them bit by bit: each day's log,
   * where bars only arrive, and each series' latest bar, which every quote may change.
   */
  get barCopy(): BarCopySource {
    return this.bars;
  }

  /** `symbol`'s latest bar of `interval` as it is now, if it has one. */
  latestBar(symbol: string, interval: BarInterval): Bar | undefined {
    return this.bars.latestBar(symbol, interval);
  }

  /** The latest `ts` of any event held: the feed time a restarted replay continues from. */
  get latestTs(): string | undefined {
    return this.latest;
  }

  /** The latest headlines, newest last. */
  latestHeadlines(limit = this.options.headlineCount): Headline[] {
    return this.headlines.slice(-limit);
  }

  /** This hub's epoch and latest seq. */
  get position(): Position {
    return { epoch: this.epoch, seq: this.seq };
  }

  /**
   * How many of the latest events a subscriber may have missed and still resume now: history's
   * reach, bounded by the resume budget. One that missed more gets `recovered: false`.
   */
  resumeReach(): number {
    this.history.evict(this.scheduler.now());
    return Math.min(this.seq - this.history.reach, this.options.resumeBudget ?? RESUME_BUDGET);
  }

  /**
   * What a subscriber missed since `since`: quote deltas merged per symbol, headlines and the
   * latest candle of each bar it wants, in seq order; or `recovered: false` when the epoch
   * differs, history does not reach back, or more was missed than the resume budget merges.
   */
  resume(since: Position, interest: Interest): ResumeResult {
    if (since.epoch !== this.epoch || since.seq > this.seq) return { recovered: false };
    if (since.seq === this.seq && !interest.wantsCandle) return { recovered: true, messages: [] };
    // History must hold every quote and headline after since.seq (the subscriber saw those up to
    // it), and no more than the budget are merged, each at most once.
    if (this.seq - since.seq > this.resumeReach()) return { recovered: false };
    const merged = new Map<string, QuoteMessage>();
    const out: EventMessage[] = [];
    for (const m of this.history.after(since.seq, interest)) {
      if (m.type === 'headline') out.push(m);
      else {
        const prev = merged.get(m.symbol);
        merged.set(m.symbol, prev ? mergeDeltas(prev, m) : m);
      }
    }
    // A candle is the whole bar: its latest version stands for every change before it. The
    // candles of a quote share its seq and follow it on the wire, so a client whose last event
    // was the quote may lack them: those at `since` go again too (taking one twice changes nothing).
    const candles: CandleMessage[] = [];
    const { wantsCandle } = interest;
    if (wantsCandle)
      this.bars.changedSince(since.seq - 1, wantsCandle, (bar, seq) => candles.push(candleOf(seq, bar)));
    return {
      recovered: true,
      messages: [...out, ...merged.values(), ...candles].sort((a, b) => a.seq - b.seq),
    };
  }

  /**
   * Everything needed to continue this hub elsewhere or after a restart; `bars: 'latest'` leaves
   * out the bars before each series' latest (see `exportStateTexts`).
   */
  exportState(bars: 'all' | 'latest' = 'all'): HubState {
    this.history.evict(this.scheduler.now());
    const held = this.history.all();
    return {
      ...this.exportUnheld(bars),
      history: held.map((e) => e.message),
      historyAt: held.map((e) => e.at),
    };
  }

  /**
   * `exportState` with history as the JSON it is held as, undecoded: what the state file copies
   * out. `bars: 'latest'` leaves out the bars before each series' latest, for a caller that
   * keeps a copy of the day logs (`BarLogCopy`).
   */
  exportStateTexts(bars: 'all' | 'latest' = 'all'): HubStateTexts {
    return { ...this.exportUnheld(bars), history: this.heldTexts() };
  }

  /** The events history holds, as the JSON it holds them as (see `HeldTexts`). */
  heldTexts(): HeldTexts {
    this.history.evict(this.scheduler.now());
    return this.history.texts();
  }

  private exportUnheld(which: 'all' | 'latest'): Omit<HubState, 'history' | 'historyAt'> {
    const bars = which === 'all' ? this.bars.export() : this.bars.latestBars();
    return {
      epoch: this.epoch,
      seq: this.seq,
      quotes: this.snapshot(),
      headlines: [...this.headlines],
      headlineIds: this.headlineIds.values(),
      bars: bars.bars,
      barSeqs: bars.seqs,
    };
  }

  /**
   * Continues from a saved state: same epoch and seq, same snapshot, history and story ids.
   * `parts`: its bars and history already put into stores of their own (see `restoredParts`),
   * by a caller that spread that over turns of the loop; else they are put now.
   */
  restore(state: HubState, parts: RestoredParts = runAtOnce(this.partsOf(state))): void {
    this.epoch = state.epoch;
    this.seq = state.seq;
    this.quotes.clear();
    for (const q of state.quotes) this.quotes.set(q.symbol, { ...q });
    this.headlines = state.headlines.slice(-this.options.headlineCount);
    for (const id of [...(state.headlineIds ?? []), ...this.headlines.map((h) => h.id)])
      this.headlineIds.add(id);
    this.latest = [...state.quotes, ...state.headlines].reduce<string | undefined>(
      (max, e) => (max === undefined || e.ts > max ? e.ts : max),
      undefined,
    );
    ({ bars: this.bars, history: this.history } = parts);
    this.restoredSubject.next(this.position);
  }

  /** {@link restoredParts} of `state` for this hub, on its clock. */
  partsOf(state: HubState, logged?: BarStore): Generator<void, RestoredParts> {
    return restoredParts(this.options, state, this.scheduler.now(), logged);
  }

  /** Ends the event streams; subscribers complete. */
  close(): void {
    this.messagesSubject.complete();
    this.statusSubject.complete();
    this.restoredSubject.complete();
  }
}

/** A saved state's bars and history in stores of their own, for `Hub.restore` to take at once. */
export interface RestoredParts {
  bars: BarStore;
  history: History;
}

/**
 * {@link RestoredParts} of `state` for a hub of `options`, a step at a time (see steps.ts): days
 * of bars and a full history are seconds of the loop, which a process that serves meanwhile (an
 * edge reloading the cluster) spreads over turns while its hub serves what it holds.
 */
export function* restoredParts(
  options: Pick<HubOptions, 'history' | 'barDays'>,
  state: HubState,
  now: number,
  /** A store that already holds the bars of the copy the state names (see `barLogSteps`). */
  logged?: BarStore,
): Generator<void, RestoredParts> {
  const bars = yield* barStoreSteps(options.barDays ?? 0, state, logged);
  const history = yield* historySteps(options.history, state, now);
  return { bars, history };
}

/** Trading days of bars kept unless `--bar-days` says otherwise. */
export const DEFAULT_BAR_DAYS = 5;

/** Stamps each change through the hub; what they became goes out on `hub.messages$`. */
export const publishTo =
  (hub: Hub): OperatorFunction<Change, never> =>
  (changes) =>
    changes.pipe(
      tap((change) => hub.apply(change)),
      ignoreElements(),
    );
