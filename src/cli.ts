#!/usr/bin/env node
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { text } from 'node:stream/consumers';
import { TickstreamError } from './errors.ts';
import { createLogger } from './log.ts';
import { duration, num, str, type FlagValues } from './options.ts';
import { parseText } from './parse/parse-text.ts';
import { serve } from './serve.ts';
import { sourceConfig, sourceFlags, sourceHelp } from './source/options.ts';

const HELP = `tickstream: a real-time market-ticker streaming server

Usage: tickstream <command> [flags]

Commands:
  serve              replay a feed and serve it over WebSocket (/ws) and HTTP
  parse [FILE]       print the events a feed holds as NDJSON (stdin when no FILE)

serve flags:
${sourceHelp}
  --port N           listen port (env PORT, default 8080; 0 = any free port)
  --host ADDR        listen address (env HOST, default 0.0.0.0)
  --heartbeat MS     heartbeat interval (default 15s)
  --max-payload N    largest client frame in bytes (default 65536)
  --history-size N   events kept for resume (default 100000)
  --history-age D    how long events are kept for resume (default 1h)

Environment: PORT, HOST, LOG_LEVEL (trace|debug|info|warn|error; default info).
`;

const serveCommand = async (args: string[]) => {
  const { values } = parseArgs({
    args,
    options: {
      ...sourceFlags,
      port: { type: 'string', default: process.env.PORT },
      host: { type: 'string', default: process.env.HOST },
      heartbeat: { type: 'string' },
      'max-payload': { type: 'string' },
      'history-size': { type: 'string' },
      'history-age': { type: 'string' },
    },
    strict: true,
  });
  const v = values as FlagValues;
  const log = createLogger();
  const running = await serve(
    {
      source: sourceConfig(v),
      port: num(v, 'port', 8080, { min: 0, max: 65535 }),
      host: str(v, 'host') ?? '0.0.0.0',
      heartbeatMs: duration(v, 'heartbeat', 15_000),
      maxPayload: num(v, 'max-payload', 65_536, { min: 256 }),
      history: { size: num(v, 'history-size', 100_000, { min: 0 }), ageMs: duration(v, 'history-age', 3_600_000) },
    },
    log,
  );
  log.info(`serving http://localhost:${running.server.port}/ (WebSocket at /ws)`);
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
};

const parseCommand = async (args: string[]) => {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const input = positionals[0] === undefined || positionals[0] === '-' ? process.stdin : createReadStream(positionals[0]);
  for (const event of parseText(await text(input))) process.stdout.write(`${JSON.stringify(event)}\n`);
};

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = { serve: serveCommand, parse: parseCommand };

const main = async (argv: string[]) => {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const run = COMMANDS[command];
  if (!run) throw new TickstreamError('bad_usage', `unknown command "${command}"; see tickstream --help`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  await run(rest);
};

main(process.argv.slice(2)).catch((err: unknown) => {
  const known = err instanceof TickstreamError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`tickstream: ${(err as Error).message}\n`);
  if (!known) process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(2);
});
