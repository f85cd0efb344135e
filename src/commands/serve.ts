import { busConfig, busFlags, busHelp } from '../bus/options.ts';
import { hubConfig, hubFlags, hubHelp } from '../hub/options.ts';
import { installFatalHandlers } from '../fatal.ts';
import { createLogger, logFlags, logHelp, logLevel } from '../log.ts';
import { parseFlags } from '../options.ts';
import { serve } from '../serve.ts';
import { sourceConfig, sourceFlags, sourceHelp } from '../source/options.ts';
import { transportConfig, transportFlags, transportHelp } from '../transport/options.ts';

/** Longest a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_BOUND_MS = 5000;

/** `tickstream help serve`: every flag, by stage. */
export const serveHelp = `source:
${sourceHelp}
history and persistence:
${hubHelp}
clients:
${transportHelp}
scale-out:
${busHelp}
logs:
${logHelp}`;

/** `tickstream serve`: runs the server until SIGINT or SIGTERM, then closes clients with 1001. */
export const serveCommand = async (args: string[]) => {
  const { values: v } = parseFlags(args, {
    ...sourceFlags,
    ...hubFlags,
    ...transportFlags,
    ...busFlags,
    ...logFlags,
  });
  const log = createLogger(logLevel(v));
  const bus = busConfig(v);
  const running = await serve(
    { source: sourceConfig(v), hub: hubConfig(v), transport: transportConfig(v), ...(bus && { bus }) },
    log,
  );
  log.info(`serving http://localhost:${running.server.port}/ (WebSocket at /ws)`);
  // Logs are flushed before exit so the last lines (shutdown, errors) are not lost.
  const exit = (code: number) => log.flush(() => process.exit(code));
  let stopping = false;
  const stop = (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    // Clients get SHUTDOWN_BOUND_MS to answer the close; a stuck shutdown still ends the process.
    setTimeout(() => {
      log.error({ boundMs: SHUTDOWN_BOUND_MS }, 'shutdown took too long; exiting');
      exit(1);
    }, SHUTDOWN_BOUND_MS).unref();
    running.close().then(
      () => exit(exitCode),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  const onSignal = (signal: string) => {
    log.info({ signal }, 'shutting down');
    stop(0);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  installFatalHandlers(process, log, stop);
};
