import { connect, type TickstreamClient, type TokenSource } from '../client.ts';
import { arrow, localeFormats, priceMove, selectQuotes, type Formats } from '../format.ts';
import { serverUrl } from '../server-url.ts';
import { anyCovers, readSymbolList, type Headline, type Quote } from '../protocol/index.ts';
import type { TickTapeEventMap, TickTapeStateDetail } from './events.ts';
import { STYLES } from './styles.ts';
import { dayCloses, sparkline } from './sparkline.ts';

/** Pixels per second at `speed="1"`: readable at a glance, like TradingView's default tape. */
const BASE_SPEED_PX = 50;
const FLASH_MS = 900;
/** The bars a sparkline draws: a trading day of 5-minute closes is about 70 points. */
const SPARK_INTERVAL = '5m';

interface Settings {
  url: string | undefined;
  symbols: string[] | undefined;
  speed: number;
  formats: Formats;
  headlines: boolean;
  /** Draw each symbol's day of 5m closes beside it (`sparkline` attribute). */
  sparkline: boolean;
  problems: string[];
}

/** The `::part` names, by the class of the element that carries them (README: "Styling"). */
const PARTS: Record<string, string> = {
  root: 'tape',
  pause: 'pause-button',
  message: 'message',
  viewport: 'viewport',
  sym: 'symbol',
  price: 'price',
  arrow: 'arrow',
  chg: 'change',
  pct: 'percent',
  status: 'status',
  news: 'news',
  headline: 'headline',
};

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = '') => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  const part = PARTS[className];
  if (part) node.setAttribute('part', part);
  if (text) node.textContent = text;
  return node;
};

const DEFAULT_FORMATS = localeFormats();

/** Reads and checks the attributes; a bad one becomes a message and its default, never a throw. */
const readSettings = (host: HTMLElement, defaultUrl: string): Settings => {
  const problems: string[] = [];
  const src = serverUrl(host.getAttribute('src'), defaultUrl);
  if ('error' in src) problems.push(src.error);

  let symbols: string[] | undefined;
  const rawSymbols = host.getAttribute('symbols');
  if (rawSymbols !== null && rawSymbols.trim() !== '') {
    const read = readSymbolList(rawSymbols);
    problems.push(...read.problems.map((p) => `symbols: ${p}`));
    if (read.symbols.length > 0) symbols = read.symbols;
  }

  const theme = host.getAttribute('theme');
  if (theme !== null && theme !== 'light' && theme !== 'dark')
    problems.push(`theme "${theme}" is not light or dark; showing light`);

  let speed = 1;
  const rawSpeed = host.getAttribute('speed');
  if (rawSpeed !== null) {
    const n = Number(rawSpeed);
    if (rawSpeed.trim() === '' || !Number.isFinite(n) || n < 0 || n > 10)
      problems.push(`speed "${rawSpeed}" is not a number from 0 to 10; using 1`);
    else speed = n;
  }

  let formats = DEFAULT_FORMATS;
  const locale = host.getAttribute('locale');
  if (locale !== null && locale.trim() !== '') {
    try {
      formats = localeFormats(locale.trim());
    } catch {
      problems.push(`locale "${locale}" is not a language tag like en-US or ur-PK; using en-US`);
    }
  }

  return {
    url: 'url' in src ? src.url : undefined,
    symbols,
    speed,
    formats,
    headlines: host.hasAttribute('show-headlines'),
    sparkline: host.hasAttribute('sparkline'),
    problems,
  };
};

/**
 * `<tick-tape>`: a scrolling ticker tape of live quotes, in Shadow DOM so the host page's
 * styles neither leak in nor out. It never throws into the host page: problems are shown
 * as a small message in the tape.
 */
export class TickTape extends HTMLElement {
  static readonly observedAttributes = [
    'src',
    'symbols',
    'theme',
    'speed',
    'show-headlines',
    'locale',
    'sparkline',
  ];
  /** Where `src` points when it is not set; the bundle sets it to the origin it was loaded from. */
  static defaultUrl = '';

  private readonly root = el('div', 'root');
  private readonly viewport = el('div', 'viewport');
  private readonly copies = [el('ul', 'items'), el('ul', 'items copy')];
  private readonly pauseButton = el('button', 'pause');
  private readonly statusEl = el('span', 'status');
  private readonly statusLabel = el('span', 'label');
  private readonly messageEl = el('p', 'message');
  private readonly news = el('div', 'news');
  private readonly newsText = el('span', 'headline');
  private readonly items = new Map<string, HTMLElement[]>();
  private readonly flashTimers = new Set<ReturnType<typeof setTimeout>>();
  private client: TickstreamClient | undefined;
  private clientKey = '';
  private settings: Settings | undefined;
  private everOpened = false;
  /** Why the client gave up for good (a URL the browser rejects), shown until reconfigured. */
  private fatal: string | undefined;
  private paused = false;
  private resize: ResizeObserver | undefined;
  private configureQueued = false;
  private tokenSource: TokenSource | undefined;
  private lastState = '';

  constructor() {
    super();
    const shadow = this.attachShadow({ mode: 'open' });
    const style = el('style');
    style.textContent = STYLES;
    const bar = el('div', 'bar');
    const track = el('div', 'track');
    this.viewport.setAttribute('role', 'marquee');
    this.viewport.setAttribute('aria-label', 'Market ticker');
    // Focusable so keyboard users can pause it (focus pauses) and scroll the static row.
    this.viewport.tabIndex = 0;
    this.copies[1]!.setAttribute('aria-hidden', 'true');
    track.append(...this.copies);
    this.viewport.append(track);
    this.pauseButton.type = 'button';
    this.pauseButton.addEventListener('click', () => this.guard(() => this.setPaused(!this.paused)));
    this.setPaused(false);
    this.messageEl.hidden = true;
    this.statusEl.append(el('span', 'dot'), this.statusLabel);
    bar.append(this.pauseButton, this.messageEl, this.viewport, this.statusEl);
    const tag = el('span', 'tag', 'NEWS');
    tag.setAttribute('aria-hidden', 'true');
    this.news.append(tag, this.newsText);
    // Only headlines are announced: a live region over every price tick would drown a screen reader.
    this.news.setAttribute('aria-live', 'polite');
    this.news.hidden = true;
    this.root.append(bar, this.news);
    shadow.append(style, this.root);
  }

  /**
   * Where the tape gets a token when the server wants one (sync or async; asked before each
   * connect). Setting it reconnects.
   * @example tape.getToken = () => fetch('/ticker-token').then((r) => r.text());
   */
  get getToken(): TokenSource | undefined {
    return this.tokenSource;
  }

  set getToken(source: TokenSource | undefined) {
    this.tokenSource = source;
    if (this.isConnected && this.settings) this.guard(() => this.startClient(this.settings!));
  }

  connectedCallback(): void {
    this.guard(() => {
      this.resize = new ResizeObserver(() => this.guard(() => this.measure()));
      this.resize.observe(this.viewport);
      this.configure();
    });
  }

  disconnectedCallback(): void {
    this.guard(() => {
      this.resize?.disconnect();
      this.resize = undefined;
      this.stopClient();
      this.clientKey = '';
      for (const t of this.flashTimers) clearTimeout(t);
      this.flashTimers.clear();
    });
  }

  attributeChangedCallback(): void {
    // Several attributes set in a row reconfigure once.
    if (!this.isConnected || this.configureQueued) return;
    this.configureQueued = true;
    queueMicrotask(() => {
      this.configureQueued = false;
      if (this.isConnected) this.guard(() => this.configure());
    });
  }

  private configure(): void {
    const settings = readSettings(this, TickTape.defaultUrl);
    this.settings = settings;
    this.root.dir = settings.formats.rtl ? 'rtl' : 'ltr';
    this.root.lang = settings.formats.locale;
    // The headline line appears with the first headline, so an empty NEWS tag never shows.
    if (!settings.headlines) this.news.hidden = true;
    const key = JSON.stringify([settings.url, settings.symbols, settings.headlines, settings.sparkline]);
    if (key !== this.clientKey) {
      this.clientKey = key;
      this.startClient(settings);
    }
    this.render();
    this.showStatus();
  }

  private startClient(settings: Settings): void {
    this.stopClient();
    this.everOpened = false;
    this.fatal = undefined;
    this.news.hidden = true;
    this.newsText.replaceChildren();
    if (settings.url === undefined) return;
    const client = connect(settings.url, this.tokenSource && { getToken: this.tokenSource });
    this.client = client;
    client.on('state', ({ newState }) =>
      this.guard(() => {
        if (newState === 'open') this.everOpened = true;
        this.showStatus();
      }),
    );
    client.on('status', () => this.guard(() => this.showStatus()));
    client.on('snapshot', ({ channel }) =>
      this.guard(() => (channel === 'headlines' ? this.showHeadline(false) : this.render())),
    );
    client.on('candle', ({ symbol, interval }) =>
      this.guard(() => interval === SPARK_INTERVAL && this.drawSparkline(symbol)),
    );
    client.on('resync', () => this.guard(() => this.render()));
    client.on('quote', (update) =>
      this.guard(() => {
        this.update(update.quote, update.previous);
        this.dispatch('tick-tape:quote', update);
      }),
    );
    client.on('headline', () => this.guard(() => this.showHeadline(true)));
    client.on('error', ({ code, message }) =>
      this.guard(() => {
        if (code !== 'bad_url') return;
        this.fatal = message;
        this.showStatus();
      }),
    );
    client.subscribe('quotes', settings.symbols);
    if (settings.headlines) client.subscribe('headlines');
    if (settings.sparkline) client.subscribe('candles', settings.symbols, { interval: SPARK_INTERVAL });
  }

  /** Redraws a symbol's sparkline in both copies of the tape from the client's bars. */
  private drawSparkline(symbol: string): void {
    const lis = this.items.get(symbol);
    if (!lis || !this.settings?.sparkline) return;
    const closes = dayCloses(this.client?.candles.bars(SPARK_INTERVAL, symbol) ?? []);
    const price = this.settings.formats.price;
    for (const li of lis) li.querySelector('.spark')?.replaceWith(sparkline(symbol, closes, price));
  }

  private stopClient(): void {
    this.client?.close();
    this.client = undefined;
  }

  private orderedQuotes(): Quote[] {
    const store = this.client?.quotes;
    if (!store) return [];
    return selectQuotes(store.all(), this.settings?.symbols);
  }

  /** Rebuilds both copies of the tape from the store (snapshots, resyncs, new symbols). */
  private render(): void {
    const quotes = this.orderedQuotes();
    this.items.clear();
    for (const copy of this.copies) {
      copy.replaceChildren(
        ...quotes.map((q) => {
          const li = el('li');
          li.append(
            el('span', 'sym'),
            el('span', 'price'),
            el('span', 'arrow'),
            el('span', 'chg'),
            el('span', 'pct'),
          );
          li.dataset.symbol = q.symbol;
          if (this.settings?.sparkline) li.append(sparkline(q.symbol, []));
          this.fill(li, q);
          const list = this.items.get(q.symbol) ?? [];
          list.push(li);
          this.items.set(q.symbol, list);
          return li;
        }),
      );
    }
    for (const q of quotes) this.drawSparkline(q.symbol);
    this.root.classList.toggle('empty', quotes.length === 0);
    this.showStatus();
    this.measure();
  }

  private fill(li: HTMLElement, q: Quote): void {
    li.className = `item ${q.direction}`;
    const [sym, price, arrowEl, chg, pct] = li.children as unknown as HTMLElement[];
    sym!.textContent = q.symbol;
    const f = this.settings?.formats ?? DEFAULT_FORMATS;
    li.setAttribute('part', `item ${q.direction}`);
    price!.textContent = f.price(q.price);
    arrowEl!.textContent = arrow(q.direction);
    chg!.textContent = f.change(q.change);
    pct!.textContent = f.percent(q.changePercent);
    li.title = `${q.symbol} ${f.price(q.price)} ${f.change(q.change)} (${f.percent(q.changePercent)}) ${f.time(q.ts)}`;
  }

  private update(quote: Quote, previous: Quote | undefined): void {
    const lis = this.items.get(quote.symbol);
    if (!lis) {
      if (anyCovers(this.settings?.symbols, quote.symbol)) this.render();
      return;
    }
    const move = priceMove(previous, quote);
    for (const li of lis) {
      this.fill(li, quote);
      const price = li.children[1] as HTMLElement;
      if (move !== 'unchanged') this.flash(price, move === 'up' ? 'flash-up' : 'flash-down');
    }
  }

  private flash(node: HTMLElement, className: string): void {
    node.classList.remove('flash-up', 'flash-down');
    // Reading layout restarts the animation when the same value flashes twice in a row.
    void node.offsetWidth;
    node.classList.add(className);
    const timer = setTimeout(() => {
      this.flashTimers.delete(timer);
      node.classList.remove(className);
    }, FLASH_MS);
    this.flashTimers.add(timer);
  }

  /** Scrolls only when one copy is wider than the tape; its speed stays constant whatever the width. */
  private measure(): void {
    const width = this.copies[0]!.scrollWidth;
    const scroll = (this.settings?.speed ?? 1) > 0 && width > this.viewport.clientWidth && width > 0;
    this.root.classList.toggle('scrolling', scroll);
    if (scroll)
      this.root.style.setProperty(
        '--tt-duration',
        `${(width / (BASE_SPEED_PX * (this.settings?.speed ?? 1))).toFixed(1)}s`,
      );
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    this.root.classList.toggle('paused', paused);
    this.pauseButton.setAttribute('aria-pressed', String(paused));
    // A toggle button keeps one name; aria-pressed says whether it is paused.
    this.pauseButton.setAttribute('aria-label', 'Pause ticker');
    this.pauseButton.title = paused ? 'Play' : 'Pause';
    this.pauseButton.textContent = paused ? '▶' : '❚❚';
  }

  private showHeadline(fresh: boolean): void {
    const latest: Headline | undefined = this.client?.headlines.at(-1);
    if (!latest) return;
    const line = el('span', fresh ? 'fresh' : '');
    line.append(el('span', 'dateline', latest.dateline ? `${latest.dateline}:` : ''), latest.title);
    this.newsText.replaceChildren(line);
    this.news.hidden = !this.settings?.headlines;
  }

  /** The quiet indicator and the message: what is wrong, if anything, in a few words. */
  private showStatus(): void {
    const client = this.client;
    const problems = [...(this.settings?.problems ?? []), ...(this.fatal ? [this.fatal] : [])];
    let tone = 'live';
    let label = 'Live';
    const state = client?.state ?? 'closed';
    const status = client?.status;
    if (state === 'connecting') [tone, label] = ['quiet', 'Connecting…'];
    else if (state === 'failed' && client) {
      [tone, label] = ['warn', 'Refused'];
      problems.push(`Refused by the server: ${client.refusal}`);
    } else if (state === 'reconnecting' || state === 'closed') {
      [tone, label] = ['warn', this.everOpened ? 'Reconnecting…' : 'Offline'];
      if (!this.everOpened && client && state === 'reconnecting')
        problems.push(`Cannot reach ${client.url}; retrying`);
    } else if (status?.state === 'stale') [tone, label] = ['warn', 'Stale'];
    else if (status?.state === 'ended') [tone, label] = ['quiet', 'Replay ended'];
    else if (status?.market === 'closed') [tone, label] = ['quiet', 'Market closed'];
    else if (status?.market === 'pre-open') [tone, label] = ['quiet', 'Pre-open'];
    this.statusEl.dataset.tone = tone;
    this.statusLabel.textContent = label;
    this.statusEl.title = status ? `${label} · feed ${status.state} · market ${status.market}` : label;
    this.root.classList.toggle('stale', tone === 'warn');
    this.announceState({ connection: state, source: status?.state, market: status?.market, label });

    if (problems.length === 0 && this.items.size === 0 && state !== 'closed')
      problems.push('Loading quotes…');
    this.messageEl.hidden = problems.length === 0;
    this.messageEl.textContent = problems.join(' · ');
    this.messageEl.title = this.messageEl.textContent;
  }

  /** Dispatches `tick-tape:state` when what the indicator reflects has changed. */
  private announceState(detail: TickTapeStateDetail): void {
    const key = JSON.stringify(detail);
    if (key === this.lastState) return;
    this.lastState = key;
    this.dispatch('tick-tape:state', detail);
  }

  private dispatch<K extends keyof TickTapeEventMap>(type: K, detail: TickTapeEventMap[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  /** Runs widget code so that a failure shows in the tape and never reaches the host page. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      console.error('tick-tape:', err);
      this.messageEl.hidden = false;
      this.messageEl.textContent = 'The ticker hit an error; see the console';
    }
  }
}
