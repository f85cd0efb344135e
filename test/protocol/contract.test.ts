import { Parser, fromFile } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { jsonSchemaFiles } from '../../scripts/generate-schema.ts';
import { clientRequests, serverMessages, validateServerMessage } from '../../src/protocol/messages.ts';
import { repoPath } from '../helpers.ts';
import { assertServerMessage, committedSchemas, schemaValidator } from '../protocol-schema.ts';

const hello = { type: 'hello', version: 1, epoch: 'e1', seq: 57, heartbeatMs: 15000 };
const delta = {
  type: 'quote',
  seq: 58,
  symbol: 'AIRLINK',
  v: 4,
  price: 81.1,
  ts: '2023-11-09T04:31:00.000Z',
};

/** protocol.md's request examples. */
const REQUESTS = [
  { op: 'subscribe', channel: 'quotes', symbols: ['AIRLINK', 'KSE100'] },
  { op: 'subscribe', channel: 'quotes' },
  { op: 'subscribe', channel: 'headlines' },
  { op: 'subscribe', id: 1, channel: 'quotes', symbols: ['HBL', 'OGDC*'], maxRate: 2, slow: 'disconnect' },
  { op: 'subscribe', channel: 'quotes', since: { epoch: 'e1', seq: 120 } },
  { op: 'unsubscribe', channel: 'quotes', symbols: ['AIRLINK'] },
  { op: 'ping', id: 'p7' },
];
const BAD_REQUESTS = [
  { op: 'subscribe', channel: 'quotes', symbols: 'AIRLINK' },
  { op: 'subscribe', channel: 'quotes', bogus: true },
  { op: 'subscribe', channel: 'quotes', maxRate: 0 },
  { op: 'ping', id: { nested: true } },
];

describe('the published contract', () => {
  it('has schema/ exactly as the zod source generates it (npm run generate:schema)', () => {
    const generated = jsonSchemaFiles();
    const committed = committedSchemas();
    expect([...committed.keys()].sort()).toEqual([...generated.keys()].sort());
    for (const [name, text] of generated) expect(committed.get(name), name).toEqual(JSON.parse(text));
  });

  it('has a schema file for every message in both directions', () => {
    const files = committedSchemas();
    for (const type of Object.keys(serverMessages))
      expect(files.has(`${type}-message.json`), type).toBe(true);
    for (const op of Object.keys(clientRequests)) expect(files.has(`${op}-request.json`), op).toBe(true);
  });

  it('checks server messages against the schema: an undocumented field or a wrong type fails', () => {
    expect(() => assertServerMessage(hello)).not.toThrow();
    expect(() => assertServerMessage(delta)).not.toThrow();
    expect(() => assertServerMessage({ ...hello, extra: 1 })).toThrow(/additional/);
    expect(() => assertServerMessage({ ...delta, v: '4' })).toThrow(/\/v must be integer/);
    expect(() => assertServerMessage({ ...delta, ts: 'yesterday' })).toThrow(/\/ts/);
    expect(() => assertServerMessage({ type: 'quote', seq: 1, symbol: 'X' })).toThrow(/required/);
    // Published schemas stay open: the server may add fields, and clients ignore them.
    expect(schemaValidator('server-message.json')({ ...hello, extra: 1 })).toBe(true);
  });

  it('reads an error with a code it does not know as an error, as the protocol says to', () => {
    const future = { type: 'error', id: 3, code: 'from_a_newer_server', message: 'try later' };
    expect(validateServerMessage(future)).toEqual({ kind: 'valid', message: future });
    expect(schemaValidator('server-message.json')(future)).toBe(true);
  });

  it('agrees with the zod source on requests, good and bad', () => {
    const json = schemaValidator('client-request.json');
    const zod = (r: { op: string }) =>
      z.safeParse(clientRequests[r.op as keyof typeof clientRequests], r).success;
    for (const r of REQUESTS) expect([json(r), zod(r)], JSON.stringify(r)).toEqual([true, true]);
    for (const r of BAD_REQUESTS) expect([json(r), zod(r)], JSON.stringify(r)).toEqual([false, false]);
  });

  it('has an AsyncAPI document that parses without errors and carries every message', async () => {
    const { document, diagnostics } = await fromFile(new Parser(), repoPath('docs/asyncapi.yaml')).parse();
    // Severity 0 is an error, 1 a warning; the rest are hints.
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toMatch(/^3\.0\./);
    const payloadIds = new Set(
      document!
        .allMessages()
        .all()
        .map((m) => m.payload()?.id()),
    );
    const expected = [
      ...Object.keys(serverMessages).map((t) => `${t}-message.json`),
      ...Object.keys(clientRequests).map((op) => `${op}-request.json`),
    ];
    expect(expected.filter((id) => !payloadIds.has(id))).toEqual([]);
    // The payloads were read from schema/, not left as references.
    const quote = document!
      .allMessages()
      .all()
      .find((m) => m.name() === 'quote');
    expect(Object.keys(quote!.payload()!.properties() ?? {})).toContain('seq');
  });
});
