import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { installFatalHandlers } from '../src/fatal.ts';

const capture = () => {
  const lines: Record<string, unknown>[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, out), lines };
};

describe('fatal handlers', () => {
  it('log an uncaught exception at fatal with the error and stop with exit code 1', async () => {
    const proc = new EventEmitter();
    const { log, lines } = capture();
    const stops: number[] = [];
    installFatalHandlers(proc, log, (code) => stops.push(code));
    proc.emit('uncaughtException', new Error('boom'));
    await new Promise((r) => setImmediate(r));
    expect(stops).toEqual([1]);
    expect(lines).toMatchObject([
      { level: 60, msg: 'uncaught exception; shutting down', err: { message: 'boom' } },
    ]);
  });

  it('treat an unhandled rejection the same way', async () => {
    const proc = new EventEmitter();
    const { log, lines } = capture();
    const stops: number[] = [];
    installFatalHandlers(proc, log, (code) => stops.push(code));
    proc.emit('unhandledRejection', new Error('lost'));
    await new Promise((r) => setImmediate(r));
    expect(stops).toEqual([1]);
    expect(lines[0]).toMatchObject({ level: 60, err: { message: 'lost' } });
  });
});
