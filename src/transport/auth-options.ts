import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { TickstreamError } from '../errors.ts';
import { duration, envName, flagName, str, type FlagValues } from '../options.ts';
import { DEFAULT_LEEWAY_SECONDS, publicKeyAlgorithm, type JwtConfig } from './jwt.ts';

/** parseArgs descriptors for who may connect: tokens, JWT keys and claims. */
export const authFlags = {
  'auth-token': { type: 'string' },
  'auth-token-file': { type: 'string' },
  'jwt-secret': { type: 'string' },
  'jwt-secret-file': { type: 'string' },
  'jwt-public-key': { type: 'string' },
  'jwt-jwks': { type: 'string' },
  'jwt-audience': { type: 'string' },
  'jwt-issuer': { type: 'string' },
  'jwt-leeway': { type: 'string' },
} as const;

/** `serve --help` lines for the auth flags. */
export const authHelp = `  --auth-token T     require ?token=T or "Authorization: Bearer T" (or --auth-token-file FILE,
                     or env TICKSTREAM_AUTH_TOKEN: neither shows in ps)
  --jwt-secret S     accept HS256 JWTs signed with S (or --jwt-secret-file FILE, or env
                     TICKSTREAM_JWT_SECRET)
  --jwt-public-key FILE  accept JWTs signed by this PEM public key (RSA: RS256, P-256: ES256)
  --jwt-jwks URL|FILE    accept RS256/ES256 JWTs signed by a key of this JWKS (a URL is cached and
                     fetched again when a token names an unknown kid)
  --jwt-audience A   require a JWT's aud to be A
  --jwt-issuer I     require a JWT's iss to be I
  --jwt-leeway D     clock skew allowed on exp and nbf (default 30s); a connection is closed with
                     1008 "token expired" when its token runs out`;

const MAX_LEEWAY_MS = 300_000;

const readFlagFile = (name: string, path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TickstreamError('bad_config', `--${name}: cannot read ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
};

/**
 * A secret from `--NAME`, `--NAME-file FILE` (trailing newline dropped) or `TICKSTREAM_NAME`:
 * a file or the environment keeps it out of `ps` and shell history. Either flag on the command
 * line wins over the environment (where parseFlags may have put `TICKSTREAM_NAME` or
 * `TICKSTREAM_NAME_FILE` among `values`).
 */
export const secretFlag = (values: FlagValues, env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const fileFlag = `${name}-file`;
  const onCommandLine = (flag: string) =>
    str(values, flag) !== undefined && flagName(values, flag) === `--${flag}`;
  if (onCommandLine(name) && onCommandLine(fileFlag))
    throw new TickstreamError('bad_config', `--${name} and --${fileFlag} are alternatives; give one`);
  const fromFile = () => readFlagFile(fileFlag, str(values, fileFlag)!).replace(/\r?\n$/, '');
  const secret = onCommandLine(name)
    ? str(values, name)
    : onCommandLine(fileFlag)
      ? fromFile()
      : (str(values, name) ??
        (str(values, fileFlag) === undefined ? undefined : fromFile()) ??
        env[envName(name)]);
  if (secret === '') throw new TickstreamError('bad_config', `--${name} is empty`);
  return secret;
};

const publicKey = (path: string) => {
  const pem = readFlagFile('jwt-public-key', path);
  let key;
  try {
    key = createPublicKey(pem);
  } catch (cause) {
    throw new TickstreamError('bad_config', `--jwt-public-key: ${path} is not a PEM public key`, { cause });
  }
  if (!publicKeyAlgorithm(key))
    throw new TickstreamError(
      'bad_config',
      `--jwt-public-key: ${path} holds a ${key.asymmetricKeyType} key; an RSA or P-256 (EC) key is needed`,
    );
  return key;
};

const keySet = (source: string): URL | JSONWebKeySet => {
  if (/^https?:\/\//.test(source)) return new URL(source);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFlagFile('jwt-jwks', source));
  } catch (cause) {
    if (cause instanceof TickstreamError) throw cause;
    throw new TickstreamError('bad_config', `--jwt-jwks: ${source} is not JSON`, { cause });
  }
  if (!Array.isArray((parsed as { keys?: unknown } | null)?.keys))
    throw new TickstreamError('bad_config', `--jwt-jwks: ${source} is not a key set ({"keys": [...]})`);
  return parsed as JSONWebKeySet;
};

/** The token and JWT settings; a bad value or unreadable file fails here with the flag's name. */
export const authConfig = (
  values: FlagValues,
  env: NodeJS.ProcessEnv,
): { authToken?: string; jwt?: JwtConfig } => {
  const authToken = secretFlag(values, env, 'auth-token');
  const secret = secretFlag(values, env, 'jwt-secret');
  const pem = str(values, 'jwt-public-key');
  const jwks = str(values, 'jwt-jwks');
  const audience = str(values, 'jwt-audience');
  const issuer = str(values, 'jwt-issuer');
  const hasKey = secret !== undefined || pem !== undefined || jwks !== undefined;
  if (!hasKey && (audience ?? issuer ?? str(values, 'jwt-leeway')) !== undefined)
    throw new TickstreamError(
      'bad_config',
      '--jwt-audience, --jwt-issuer and --jwt-leeway need a key: --jwt-secret, --jwt-public-key or --jwt-jwks',
    );
  const leewayMs = duration(values, 'jwt-leeway', DEFAULT_LEEWAY_SECONDS * 1000);
  // Leeway extends every token's life: more than a few minutes would hide a broken clock.
  if (leewayMs > MAX_LEEWAY_MS)
    throw new TickstreamError('bad_config', `--jwt-leeway must be at most 5m, got ${leewayMs}ms`);
  return {
    ...(authToken !== undefined && { authToken }),
    ...(hasKey && {
      jwt: {
        ...(secret !== undefined && { secret }),
        ...(pem !== undefined && { publicKey: publicKey(pem) }),
        ...(jwks !== undefined && { jwks: keySet(jwks) }),
        ...(audience !== undefined && { audience }),
        ...(issuer !== undefined && { issuer }),
        leewaySeconds: Math.floor(leewayMs / 1000),
      },
    }),
  };
};
