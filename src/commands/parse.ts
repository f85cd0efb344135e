import { createReadStream } from 'node:fs';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { parseText } from '../parse/parse-text.ts';

/** `tickstream parse [FILE]`: prints the events a feed holds as NDJSON. */
export const parseCommand = async (args: string[]) => {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const input =
    positionals[0] === undefined || positionals[0] === '-' ? process.stdin : createReadStream(positionals[0]);
  for (const event of parseText(await text(input))) process.stdout.write(`${JSON.stringify(event)}\n`);
};
