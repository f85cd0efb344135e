import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Subscription } from 'rxjs';
import { Hub, publishTo } from './hub/hub.ts';
import { marketState } from './hub/market-calendar.ts';
import { feedChanges, type TimedEvent } from './pipeline.ts';
import { openSource, type OpenedSource, type SourceConfig } from './source/options.ts';
import { trackState } from './source/source-state.ts';
import { startServer, type RunningServer } from './transport/server.ts';
import type { HubConfig } from './hub/options.ts';
import type { TransportConfig } from './transport/options.ts';

export interface ServeConfig {
  source: SourceConfig;
  hub: HubConfig;
  transport: TransportConfig;
}

export interface Running {
  hub: Hub;
  server: RunningServer;
  /** Stops the source, closes every client with 1001 and the listener; safe to call twice. */
  close(): Promise<void>;
}

const asset = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const ASSETS = new Map([
  ['/', { file: asset('client/index.html'), type: 'text/html; charset=utf-8' }],
  ['/widget.js', { file: asset('dist/widget.js'), type: 'text/javascript; charset=utf-8' }],
  ['/demo.js', { file: asset('dist/demo.js'), type: 'text/javascript; charset=utf-8' }],
]);

/** Logs and counts what the parser flags, so a bad line is seen and never ends the stream. */
const reportEvent = (log: Logger) => (event: TimedEvent) => {
  if (event.type === 'rejected')
    log.warn(
      { origin: event.origin, line: event.line, text: event.text, reason: event.reason },
      'rejected feed line',
    );
  else if (event.type === 'quote' && event.suspect)
    log.warn(
      { origin: event.origin, line: event.line, symbol: event.symbol, suspect: event.suspect },
      'suspect quote',
    );
};

/**
 * Wires source → parse → diff → hub → transport and starts serving. `source` defaults to the
 * configured one; tests and embedders may hand in their own frames.
 */
export const serve = async (
  config: ServeConfig,
  log: Logger,
  source: OpenedSource = openSource(config.source, log),
): Promise<Running> => {
  const hub = new Hub(config.hub);
  const server = await startServer({ ...config.transport, hub, log, assets: ASSETS });
  hub.setStatus({ source: source.kind, state: 'running', market: marketState(new Date()) });

  // Source state has one author, trackState; a hand-made source without one gets it here.
  const { frames$, state$ } = source.state$
    ? { frames$: source.frames$, state$: source.state$ }
    : trackState(source.frames$);

  const root = new Subscription();
  root.add(state$.subscribe((state) => hub.setStatus({ ...hub.status, state })));
  root.add(
    frames$
      .pipe(feedChanges({ seed: hub.currentValues(), onEvent: reportEvent(log) }), publishTo(hub))
      .subscribe({
        error: (err: unknown) => {
          log.error({ err }, 'source failed; serving the last state');
        },
        complete: () => {
          log.info('source ended; serving the final state');
        },
      }),
  );

  let closing: Promise<void> | undefined;
  return {
    hub,
    server,
    close: () =>
      (closing ??= (async () => {
        root.unsubscribe();
        await server.close();
        hub.close();
      })()),
  };
};
