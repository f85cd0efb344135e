import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import { TickstreamError } from './errors.ts';
import { flagName, str, type FlagValues } from './options.ts';
import { VERSION } from './package.ts';

/** The level names `--log-level` and `LOG_LEVEL` take. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** `--log-level` for the commands that log; `LOG_LEVEL` is its older spelling. */
export const logFlags = { 'log-level': { type: 'string' } } as const;

/** `--help` line for `logFlags`. */
export const logHelp = `  --log-level L      trace|debug|info|warn|error|fatal|silent (env LOG_LEVEL too; default info)`;

/** The level a command logs at: `--log-level` (or TICKSTREAM_LOG_LEVEL), else LOG_LEVEL, else info. */
export const logLevel = (values: FlagValues, env: NodeJS.ProcessEnv = process.env): string => {
  const flag = str(values, 'log-level');
  const level = flag ?? env.LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    const name = flag === undefined ? 'LOG_LEVEL' : flagName(values, 'log-level');
    throw new TickstreamError('bad_usage', `${name} must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  }
  return level;
};

// pino-pretty is a devDependency: a production install has none and logs JSON whatever stderr is.
const prettyTarget = (): string | undefined => {
  try {
    return createRequire(import.meta.url).resolve('pino-pretty');
  } catch {
    return undefined;
  }
};

/**
 * The process's root logger: JSON lines (for collectors) with `service` and `version` on each,
 * pretty-printed instead when stderr is a terminal and pino-pretty is installed.
 */
export const createLogger = (
  level = process.env.LOG_LEVEL ?? 'info',
  destination: NodeJS.WritableStream = process.stderr,
): Logger => {
  const options = {
    level,
    base: { pid: process.pid, hostname: hostname(), service: 'tickstream', version: VERSION },
  };
  const pretty = (destination as NodeJS.WriteStream).isTTY === true ? prettyTarget() : undefined;
  if (pretty) {
    return pino({
      ...options,
      transport: {
        target: pretty,
        options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service,version' },
      },
    });
  }
  return pino(options, destination);
};
