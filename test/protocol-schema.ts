import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { repoPath } from './helpers.ts';

/** The committed JSON Schemas (`schema/`), by file name. */
export const committedSchemas = (): Map<string, object> =>
  new Map(
    readdirSync(repoPath('schema'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => [f, JSON.parse(readFileSync(join(repoPath('schema'), f), 'utf8')) as object]),
  );

/**
 * The published schemas are open (the server may add fields); tests close every object so a
 * field the server sends without documenting it fails here, where it can still be documented.
 */
const closed = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(closed);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'properties' ? mapValues(v, closed) : closed(v);
  if (out.type === 'object' && out.properties && !('additionalProperties' in out))
    out.additionalProperties = false;
  return out;
};
const mapValues = (o: unknown, f: (v: unknown) => unknown) =>
  Object.fromEntries(Object.entries(o as Record<string, unknown>).map(([k, v]) => [k, f(v)]));

const validators = new Map<boolean, Ajv>();
const compile = (file: string, strict: boolean): ValidateFunction => {
  let ajv = validators.get(strict);
  if (!ajv) {
    ajv = new Ajv({ allErrors: true });
    addFormats.default(ajv);
    for (const [name, schema] of committedSchemas())
      ajv.addSchema(strict ? (closed(schema) as object) : schema, name);
    validators.set(strict, ajv);
  }
  const validate = ajv.getSchema(file);
  if (!validate) throw new Error(`no schema/${file}`);
  return validate;
};

let serverMessage: ValidateFunction | undefined;

/** Throws, naming what is wrong, when `message` does not match `schema/server-message.json` (closed). */
export const assertServerMessage = (message: unknown): void => {
  serverMessage ??= compile('server-message.json', true);
  if (serverMessage(message)) return;
  // oneOf reports every branch; the branch of the message's own type says what is wrong.
  const type = (message as { type?: unknown }).type;
  const own =
    typeof type === 'string' && committedSchemas().has(`${type}-message.json`)
      ? compile(`${type}-message.json`, true)
      : undefined;
  own?.(message);
  const errors = own?.errors ?? serverMessage.errors;
  throw new Error(
    `the server sent a message that does not match schema/: ${JSON.stringify(message).slice(0, 500)}\n` +
      (errors ?? [])
        .map((e) => `  ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`)
        .join('\n'),
  );
};

/** A validator of one committed schema file, open as published. */
export const schemaValidator = (file: string): ValidateFunction => compile(file, false);
