/**
 * tickstream under test: the real serve() pipeline (parse → diff → hub → transport) fed with
 * generated ticker text, one frame per burst, so `ts` is the time the frame entered the server.
 * argv[2] `no-bars`: the bars stage off (`--bar-days 0`), to see what bars cost the fan-out.
 */
import { Subject } from 'rxjs';
import { createLogger } from '../../src/log.ts';
import { hubConfig } from '../../src/hub/options.ts';
import { serve } from '../../src/serve.ts';
import type { Frame } from '../../src/source/frame.ts';
import { transportConfig } from '../../src/transport/options.ts';
import { QuoteGenerator, tickerLine } from '../feed.ts';
import { hostFeed } from './host.ts';

const generator = new QuoteGenerator();
const frames$ = new Subject<Frame>();
const running = await serve(
  {
    source: { feed: '', speed: 1, intervalMs: 1000, loop: false },
    hub: hubConfig(process.argv[2] === 'no-bars' ? { 'bar-days': '0' } : {}),
    // Heartbeats would be extra deliveries on some servers only: keep them out of the window.
    // The total holds the largest matrix (--big: 10,000 clients) and fits a hard open-file limit
    // of 16K, so the server need not lower it. Every bench client comes from 127.0.0.1, so the
    // per-address limits are lifted like the total.
    transport: transportConfig({
      port: '0',
      host: '127.0.0.1',
      heartbeat: '10m',
      'max-connections': '15000',
      'max-connections-per-ip': '100000',
      'max-items-per-ip': '1000000000',
      'max-request-bytes-per-ip': '1000000000',
    }),
  },
  createLogger(process.env.LOG_LEVEL ?? 'warn'),
  { kind: 'bench', frames$ },
);
// Every symbol's first value, before any client connects: subscribers get it in the snapshot.
frames$.next({ text: generator.all().map(tickerLine).join('\n'), origin: 'bench:initial' });
hostFeed(
  {
    port: running.server.port,
    // The frame's capture time is the `ts` its quotes carry: the feed's stamp, as for every server.
    publish: (burst, stamp) =>
      frames$.next({ text: burst.map(tickerLine).join('\n'), origin: 'bench', capturedAt: stamp.date }),
  },
  generator,
);
