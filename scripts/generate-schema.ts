/**
 * Writes the JSON Schemas of the wire protocol into `schema/`, generated from the zod source
 * (`client/protocol/`): one file per message and per shared type, with `$ref`s between them,
 * and `server-message.json` / `client-request.json` for "any message in this direction".
 * `npm run generate:schema`; a test fails when the committed files differ from this output.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as z from 'zod/mini';
import { clientRequests, Headline, Position, Quote, serverMessages } from '../client/protocol/index.ts';

export const SCHEMA_DIR = fileURLToPath(new URL('../schema', import.meta.url));

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The generated files by name, each as the JSON text to write. */
export const jsonSchemaFiles = (): Map<string, string> => {
  const named: (readonly [id: string, schema: z.core.$ZodType, title: string])[] = [
    ['quote', Quote, 'A quote in full form'],
    ['headline', Headline, 'A news story'],
    ['position', Position, 'An epoch and seq to resume after'],
    ...Object.entries(serverMessages).map(
      ([type, schema]) => [`${kebab(type)}-message`, schema, `${type} (server → client)`] as const,
    ),
    ...Object.entries(clientRequests).map(
      ([op, schema]) => [`${kebab(op)}-request`, schema, `${op} (client → server)`] as const,
    ),
  ];
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of named) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-07',
    uri: (id) => `${id}.json`,
    // Published schemas stay open, as the contract is: the server may add fields.
    io: 'input',
  });
  const files = new Map<string, string>();
  const add = (id: string, schema: object) => files.set(`${id}.json`, `${JSON.stringify(schema, null, 2)}\n`);
  for (const [id, , title] of named) {
    const { $schema, $id, ...body } = schemas[id]!;
    add(id, { $schema, $id, title, ...body });
  }
  const oneOf = (id: string, title: string, refs: string[]) =>
    add(id, {
      $schema: 'http://json-schema.org/draft-07/schema#',
      $id: `${id}.json`,
      title,
      oneOf: refs.map((ref) => ({ $ref: `${ref}.json` })),
    });
  oneOf(
    'server-message',
    'Any server → client message',
    Object.keys(serverMessages).map((type) => `${kebab(type)}-message`),
  );
  oneOf(
    'client-request',
    'Any client → server request',
    Object.keys(clientRequests).map((op) => `${kebab(op)}-request`),
  );
  return files;
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = jsonSchemaFiles();
  mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const old of readdirSync(SCHEMA_DIR)) if (!files.has(old)) rmSync(join(SCHEMA_DIR, old));
  for (const [name, text] of files) writeFileSync(join(SCHEMA_DIR, name), text);
  process.stdout.write(`${files.size} schemas in ${SCHEMA_DIR}\n`);
}
