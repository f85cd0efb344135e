import pino, { type Logger } from 'pino';

/** A pino logger whose records the test can read back, one parsed object per log line. */
export const capturingLog = (): { log: Logger; records: Record<string, unknown>[] } => {
  const records: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => records.push(JSON.parse(line)) });
  return { log, records };
};
