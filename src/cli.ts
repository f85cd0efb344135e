#!/usr/bin/env node
import { parseCommand, parseHelp } from './commands/parse.ts';
import { recordCommand, recordHelp } from './commands/record.ts';
import { serveCommand, serveHelp } from './commands/serve.ts';
import { tailCommand, tailHelp } from './commands/tail.ts';
import { TickstreamError } from './errors.ts';

const HELP = `tickstream: a real-time market-ticker streaming server

Usage: tickstream <command> [flags]

Commands:
  serve              replay a feed and serve it over WebSocket (/ws) and HTTP
  parse [FILE]       print the events a feed holds as NDJSON (stdin when no FILE; --stats)
  record --out DIR   record a source (same flags as serve) as NDJSON, one file a day
  tail               a live quote table from a running server (--json for NDJSON)

${serveHelp}

${parseHelp}

${recordHelp}

${tailHelp}

Environment: PORT, HOST, LOG_LEVEL (trace|debug|info|warn|error; default info).
`;

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  serve: serveCommand,
  parse: parseCommand,
  record: recordCommand,
  tail: tailCommand,
};

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
  const known =
    err instanceof TickstreamError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`tickstream: ${(err as Error).message}\n`);
  if (!known) process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(2);
});
