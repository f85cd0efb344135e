import {
  CandlestickSeries,
  createChart,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from 'lightweight-charts';
import * as z from 'zod/mini';
import type { TickstreamClient } from '../client.ts';
import { CandlesResponse, type Bar, type BarInterval } from '../protocol/index.ts';

/** Karachi is UTC+5 all year: the chart draws UTC, so times are shifted to read as PKT. */
const PKT_SECONDS = 5 * 3600;

const toChart = (b: Bar) => ({
  time: (Date.parse(b.start) / 1000 + PKT_SECONDS) as UTCTimestamp,
  open: b.open,
  high: b.high,
  low: b.low,
  close: b.close,
});

/**
 * The live intraday chart of one symbol: the day's bars from `/api/candles`, then every candle
 * of the `candles` channel, drawn with TradingView's lightweight-charts.
 */
export class IntradayChart {
  private chart: IChartApi | undefined;
  private series: ISeriesApi<'Candlestick'> | undefined;
  private symbol: string | undefined;
  private interval: BarInterval = '5m';
  private lastStart = '';
  private loading = 0;

  constructor(
    private readonly client: TickstreamClient,
    private readonly container: HTMLElement,
  ) {
    client.on('candle', (bar) => {
      if (bar.symbol !== this.symbol || bar.interval !== this.interval || !this.series) return;
      // The chart only appends or replaces its last bar; an older one means a reload.
      if (bar.start < this.lastStart) return void this.load();
      this.lastStart = bar.start;
      this.series.update(toChart(bar));
    });
  }

  /** Shows `symbol` at `interval`, following its candles live. */
  open(symbol: string, interval: BarInterval = this.interval): void {
    this.client.unsubscribe('candles');
    this.symbol = symbol;
    this.interval = interval;
    if (!this.chart) {
      this.chart = createChart(this.container, {
        autoSize: true,
        timeScale: { timeVisible: true, secondsVisible: false },
      });
      this.series = this.chart.addSeries(CandlestickSeries, {
        upColor: '#089981',
        downColor: '#f23645',
        wickUpColor: '#089981',
        wickDownColor: '#f23645',
        borderVisible: false,
      });
    }
    this.client.subscribe('candles', [symbol], { interval });
    this.load();
  }

  /** Stops following candles and removes the chart. */
  close(): void {
    this.client.unsubscribe('candles');
    this.symbol = undefined;
    this.chart?.remove();
    this.chart = undefined;
    this.series = undefined;
  }

  private load(): void {
    const { symbol, interval } = this;
    if (symbol === undefined) return;
    const ticket = ++this.loading;
    const url = `/api/candles?symbols=${encodeURIComponent(symbol)}&interval=${interval}`;
    void fetch(url)
      .then(async (res) => {
        // The address asked for too much at once (many charts, many tabs): ask again when told.
        if (res.status === 429) {
          const seconds = Number(res.headers.get('retry-after')) || 1;
          setTimeout(() => ticket === this.loading && this.load(), seconds * 1000);
          return undefined;
        }
        const body = (await res.json()) as unknown;
        if (!res.ok) throw new Error(`${url}: ${res.status} ${(body as { message?: string }).message ?? ''}`);
        // Checked like every message from the server: a chart of garbled bars is worse than none.
        const parsed = z.safeParse(CandlesResponse, body);
        if (!parsed.success)
          throw new Error(`${url}: not a candles answer: ${parsed.error.issues[0]?.message}`);
        return parsed.data;
      })
      .then((body) => {
        // A later open() or load() owns the chart now.
        if (!body || ticket !== this.loading || !this.series) return;
        const { candles } = body;
        // Candles that came while the request was out are in the client's store.
        const merged = new Map<string, Bar>();
        for (const b of [...candles, ...this.client.candles.bars(interval, symbol)]) merged.set(b.start, b);
        const bars = [...merged.values()].sort((a, b) => (a.start < b.start ? -1 : 1));
        this.lastStart = bars.at(-1)?.start ?? '';
        this.series.setData(bars.map(toChart));
        this.chart?.timeScale().fitContent();
      })
      .catch((err: unknown) => console.warn('tickstream chart:', err));
  }
}
