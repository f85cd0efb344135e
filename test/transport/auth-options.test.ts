import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authConfig } from '../../src/transport/auth-options.ts';

const dir = mkdtempSync(join(tmpdir(), 'tickstream-auth-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('secret flags', () => {
  it('reads a secret from its flag, its file (without the trailing newline) or the environment', () => {
    expect(authConfig({ 'auth-token': 't1' }, {}).authToken).toBe('t1');
    expect(authConfig({ 'auth-token-file': file('token', 't2\n') }, {}).authToken).toBe('t2');
    expect(authConfig({}, { TICKSTREAM_AUTH_TOKEN: 't3' }).authToken).toBe('t3');
    expect(authConfig({ 'jwt-secret-file': file('secret', 's1\r\n') }, {}).jwt).toEqual({
      secret: 's1',
      leewaySeconds: 30,
    });
    expect(authConfig({}, { TICKSTREAM_JWT_SECRET: 's2' }).jwt?.secret).toBe('s2');
    // The flag wins over the environment: the environment is the default under it.
    expect(authConfig({ 'auth-token': 'flag' }, { TICKSTREAM_AUTH_TOKEN: 'env' }).authToken).toBe('flag');
  });

  it('fails at start, naming the flag, on a secret that cannot work', () => {
    expect(() => authConfig({ 'auth-token': 'a', 'auth-token-file': file('t', 'b') }, {})).toThrow(
      '--auth-token and --auth-token-file are alternatives; give one',
    );
    expect(() => authConfig({ 'auth-token-file': join(dir, 'missing') }, {})).toThrow(
      /--auth-token-file: cannot read .*missing/,
    );
    expect(() => authConfig({ 'jwt-secret-file': file('empty', '\n') }, {})).toThrow('--jwt-secret is empty');
    expect(() => authConfig({ 'jwt-audience': 'x' }, {})).toThrow(/need a key/);
    expect(() => authConfig({ 'jwt-secret': 's', 'jwt-leeway': '10m' }, {})).toThrow(
      '--jwt-leeway must be at most 5m, got 600000ms',
    );
  });

  it('accepts RSA and P-256 public keys only, and a JWKS file that is a key set', () => {
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });
    expect(() => authConfig({ 'jwt-public-key': file('ed.pem', String(ed)) }, {})).toThrow(
      /holds a ed25519 key; an RSA or P-256 \(EC\) key is needed/,
    );
    expect(() => authConfig({ 'jwt-public-key': file('junk.pem', 'junk') }, {})).toThrow(
      /is not a PEM public key/,
    );
    expect(() => authConfig({ 'jwt-jwks': file('bad.json', '{"kys":[]}') }, {})).toThrow(/is not a key set/);
    expect(authConfig({ 'jwt-jwks': 'https://id.example/.well-known/jwks.json' }, {}).jwt?.jwks).toEqual(
      new URL('https://id.example/.well-known/jwks.json'),
    );
  });
});
