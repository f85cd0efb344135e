import { changeBursts, type GeneratedQuote, type QuoteGenerator } from '../feed.ts';
import type { ServerCommand, ServerReport } from '../ipc.ts';

/** What each server under test does with the generated feed. */
export interface FeedTarget {
  /** The port clients connect to. */
  port: number;
  /** Every port clients spread over, and every process to measure, when the server is several. */
  ports?: number[];
  pids?: number[];
  /** Hands one burst of changes to the server, timestamped now. */
  publish(burst: GeneratedQuote[]): void;
}

const report = (message: ServerReport) => process.send?.(message);

/**
 * Runs a server process for the orchestrator: reports `ready`, then on `start` publishes the
 * generated feed into `target` and reports when it is done.
 */
export const hostFeed = (target: FeedTarget, generator: QuoteGenerator): void => {
  process.on('message', (command: ServerCommand) => {
    // Garbage from the snapshots is not what a connection costs at rest: collect it first.
    if (command.type === 'gc') return (globalThis as { gc?: () => void }).gc?.();
    const startedAt = Date.now();
    changeBursts(generator, command.rate, command.durationMs).subscribe({
      next: (burst) => target.publish(burst),
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
