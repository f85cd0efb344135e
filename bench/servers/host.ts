import { changeBursts, type GeneratedQuote, type QuoteGenerator } from '../feed.ts';
import { recordGcPauses } from '../gc-pauses.ts';
import type { ServerCommand, ServerReport } from '../ipc.ts';
import { BurstStamper, type BurstStamp } from '../stamps.ts';

/** What each server under test does with the generated feed. */
export interface FeedTarget {
  /** The port clients connect to. */
  port: number;
  /** Every port clients spread over, and every process to measure, when the server is several. */
  ports?: number[];
  pids?: number[];
  /** Hands one burst of changes to the server; `stamp.iso` is the `ts` its quotes carry. */
  publish(burst: GeneratedQuote[], stamp: BurstStamp): void;
}

const report = (message: ServerReport) => process.send?.(message);

/**
 * Runs a server process for the orchestrator: reports `ready`, then on `start` publishes the
 * generated feed into `target` and reports when it is done; on `stamps`, reports when each
 * burst was handed over (see `stamps.ts`) and this process's GC pauses (see `gc-pauses.ts`).
 */
export const hostFeed = (target: FeedTarget, generator: QuoteGenerator): void => {
  const stamper = new BurstStamper();
  const gcPauses = recordGcPauses();
  process.on('message', (command: ServerCommand) => {
    // Garbage from the snapshots is not what a connection costs at rest: collect it first.
    if (command.type === 'gc') return (globalThis as { gc?: () => void }).gc?.();
    if (command.type === 'stamps') return report({ type: 'stamps', ...stamper.table(), gc: gcPauses() });
    const startedAt = Date.now();
    changeBursts(generator, command.rate, command.durationMs).subscribe({
      next: (burst) => target.publish(burst, stamper.next()),
      complete: () => report({ type: 'fed', startedAt, endedAt: Date.now() }),
    });
  });
  // The orchestrator going away ends the run: no orphan servers on a shared machine.
  process.on('disconnect', () => process.exit(0));
  // An exit rather than death by signal, so --cpu-prof writes its profile.
  process.once('SIGTERM', () => process.exit(0));
  const { port, ports, pids } = target;
  report({ type: 'ready', port, ...(ports && { ports }), ...(pids && { pids }) });
};
