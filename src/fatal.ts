import type { Logger } from 'pino';

/** What the fatal handlers listen on: `process`, or a stand-in in tests. */
export interface ProcessEvents {
  once(event: 'uncaughtException' | 'unhandledRejection', listener: (err: unknown) => void): unknown;
}

/**
 * Turns an error nothing caught into a logged, graceful stop: logged at fatal with the error,
 * then `stop(1)` closes clients and flushes the log. A second fatal error while stopping
 * falls back to Node's default (the process dies), as the state is then unknown twice over.
 * No client input may reach these: test/transport/attacks.test.ts checks that none does.
 */
export const installFatalHandlers = (
  proc: ProcessEvents,
  log: Logger,
  stop: (exitCode: number) => void,
): void => {
  const fatal = (kind: string) => (err: unknown) => {
    log.fatal({ err }, `${kind}; shutting down`);
    stop(1);
  };
  proc.once('uncaughtException', fatal('uncaught exception'));
  proc.once('unhandledRejection', fatal('unhandled promise rejection'));
};
