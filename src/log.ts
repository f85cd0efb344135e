import pino, { type Logger } from 'pino';

/** The process's root logger: pretty on a terminal, JSON lines otherwise (for collectors). */
export const createLogger = (
  level = process.env.LOG_LEVEL ?? 'info',
  destination: NodeJS.WritableStream = process.stderr,
): Logger => {
  const pretty = (destination as NodeJS.WriteStream).isTTY === true;
  if (pretty) {
    return pino({
      level,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return pino({ level }, destination);
};
