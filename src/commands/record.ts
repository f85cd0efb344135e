import { Subject } from 'rxjs';
import { TickstreamError } from '../errors.ts';
import { createLogger, logFlags, logHelp, logLevel } from '../log.ts';
import { parseFlags, str } from '../options.ts';
import { openSource, sourceConfig, sourceFlags, sourceHelp } from '../source/options.ts';
import { recordFrames } from '../source/recorder.ts';

/** `tickstream help record`: its flags, the source's among them. */
export const recordHelp = `  --out DIR          where the NDJSON recording goes, one file a day (YYYY-MM-DD.ndjson)
${sourceHelp}
${logHelp}`;

/**
 * `tickstream record --out DIR`: writes what a source yields as an NDJSON recording, until
 * the source ends or SIGINT/SIGTERM. The recording is itself a feed (`serve --feed DIR`).
 */
export const recordCommand = async (args: string[]) => {
  const { values: v } = parseFlags(args, { ...sourceFlags, ...logFlags, out: { type: 'string' } });
  const out = str(v, 'out');
  if (out === undefined) throw new TickstreamError('bad_usage', 'record needs --out DIR');
  const log = createLogger(logLevel(v));
  // A signal ends the source as its end would: a live feed's frame read so far is recorded too.
  const stopped = new Subject<void>();
  const source = openSource(sourceConfig(v), log, { until: stopped });
  let lastFile: string | undefined;
  let lines = 0;
  await new Promise<void>((resolve, reject) => {
    const subscription = source.frames$.pipe(recordFrames(out)).subscribe({
      next: ({ file }) => {
        lines++;
        if (file !== lastFile) log.info({ file }, 'recording to file');
        lastFile = file;
      },
      error: (err: unknown) =>
        reject(
          new TickstreamError('record_failed', `recording failed: ${(err as Error).message}`, { cause: err }),
        ),
      complete: () => resolve(),
    });
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      stopped.next();
      // Ended by now (takeUntil completes at once); a source that did not is let go.
      subscription.unsubscribe();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log.info({ out, frames: lines }, 'recording closed');
};
