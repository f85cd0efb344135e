#!/usr/bin/env node
import { parseCommand, parseHelp } from './commands/parse.ts';
import { recordCommand, recordHelp } from './commands/record.ts';
import { serveCommand, serveHelp } from './commands/serve.ts';
import { tailCommand, tailHelp } from './commands/tail.ts';
import { TickstreamError } from './errors.ts';
import { VERSION } from './package.ts';

interface Command {
  usage: string;
  summary: string;
  flags: string;
  run: (args: string[]) => Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  serve: {
    usage: 'serve [flags]',
    summary: 'replay or follow a feed and serve it over WebSocket (/ws), SSE and HTTP',
    flags: serveHelp,
    run: serveCommand,
  },
  parse: {
    usage: 'parse [FILE] [--stats]',
    summary: 'print the events a feed holds as NDJSON (stdin when no FILE)',
    flags: parseHelp,
    run: parseCommand,
  },
  record: {
    usage: 'record --out DIR [source flags]',
    summary: 'record a source as NDJSON, one file a day',
    flags: recordHelp,
    run: recordCommand,
  },
  tail: {
    usage: 'tail [--url ws://…] [--symbols A,B] [--json]',
    summary: 'a live quote table from a running server (--json for NDJSON)',
    flags: tailHelp,
    run: tailCommand,
  },
};

const ENVIRONMENT = `Every flag can also be set as TICKSTREAM_<FLAG> in the environment (--history-size N is
TICKSTREAM_HISTORY_SIZE=N; booleans true or false); the command line wins. PORT, HOST and
LOG_LEVEL still work, below TICKSTREAM_PORT, TICKSTREAM_HOST and TICKSTREAM_LOG_LEVEL.
Exit status: 0 done, 1 runtime failure (port in use, data dir locked, feed unreadable), 2 usage error.`;

const HELP = `tickstream ${VERSION}: a real-time market-ticker streaming server

Usage: tickstream <command> [flags]
       tickstream help <command>    (or <command> --help) that command's flags
       tickstream --version

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  .join('\n')}

${ENVIRONMENT}
`;

const commandHelp = (c: Command) =>
  `Usage: tickstream ${c.usage}\n\n${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.\n\n` +
  `Flags:\n${c.flags}\n\n${ENVIRONMENT}\n`;

const commandNamed = (name: string): Command => {
  const c = COMMANDS[name];
  if (!c) throw new TickstreamError('bad_usage', `unknown command "${name}"; see tickstream --help`);
  return c;
};

// Errors the user can fix by changing the command line (or the TICKSTREAM_* environment).
const isUsageError = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    code === 'bad_usage' ||
    code === 'bad_config' ||
    (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
  );
};

const main = async (argv: string[]) => {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return void process.stdout.write(HELP);
  if (first === '--version') return void process.stdout.write(`${VERSION}\n`);
  if (first === 'help') {
    if (rest[0] === undefined) return void process.stdout.write(HELP);
    return void process.stdout.write(commandHelp(commandNamed(rest[0])));
  }
  const command = commandNamed(first);
  if (rest.includes('--help') || rest.includes('-h')) return void process.stdout.write(commandHelp(command));
  await command.run(rest).catch((err: unknown) => {
    if (isUsageError(err)) (err as Error).message += ` (see tickstream help ${first})`;
    throw err;
  });
};

main(process.argv.slice(2)).catch((err: unknown) => {
  // One line, no stack: these reach operators, not developers. A bug's stack is one
  // LOG_LEVEL=debug away.
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`tickstream: ${message}\n`);
  const level = process.env.TICKSTREAM_LOG_LEVEL ?? process.env.LOG_LEVEL;
  if (!(err instanceof TickstreamError) && (level === 'debug' || level === 'trace'))
    process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(isUsageError(err) ? 2 : 1);
});
