import type { KeyObject } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';

/** Where JWT keys come from and which claims are required; each field has a flag. */
export interface JwtConfig {
  /** HS256 shared secret. */
  secret?: string;
  /** An RSA (RS256) or P-256 (ES256) public key. */
  publicKey?: KeyObject;
  /** A key set: fetched from a URL (cached, fetched again on an unknown `kid`) or given whole. */
  jwks?: URL | JSONWebKeySet;
  audience?: string;
  issuer?: string;
  /** Clock skew allowed on `exp` and `nbf`, in seconds. */
  leewaySeconds: number;
  /** How long after a fetch an unknown `kid` may not fetch the key set again (ms); default 30 s. */
  jwksCooldownMs?: number;
}

/** The clock skew allowed between the identity provider and this server when no flag says. */
export const DEFAULT_LEEWAY_SECONDS = 30;
const JWKS_TIMEOUT_MS = 5000;
/** What a key set may sign with: identity providers publish RSA and EC public keys. */
const JWKS_ALGORITHMS = ['RS256', 'ES256'];

/** A verdict on a token: good until `expiresAt` (ms; absent when it has no `exp`), or why not. */
export type JwtVerdict =
  | { ok: true; expiresAt?: number }
  | {
      ok: false;
      reason: string;
      /** Set when the keys could not be fetched or used: not the token's fault. */
      cause?: unknown;
    };

/** The one algorithm a PEM public key may verify; any other key type is refused at start. */
export const publicKeyAlgorithm = (key: KeyObject): 'RS256' | 'ES256' | undefined => {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return undefined;
};

const CLAIM_REASONS: Record<string, string> = {
  nbf: 'JWT is not valid yet',
  aud: 'JWT is not for this audience',
  iss: 'JWT is not from the expected issuer',
};

/** What the client is told about a refused token: enough to fix it, nothing about the keys. */
const reasonFor = (err: unknown, algorithms: readonly string[]): JwtVerdict => {
  if (err instanceof errors.JWTExpired) return { ok: false, reason: 'JWT has expired' };
  if (err instanceof errors.JWTClaimValidationFailed)
    return { ok: false, reason: CLAIM_REASONS[err.claim] ?? `JWT claim ${err.claim} is not valid` };
  if (err instanceof errors.JOSEAlgNotAllowed)
    return { ok: false, reason: `JWT must be signed with ${algorithms.join(' or ')}` };
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return { ok: false, reason: 'JWT signature does not match' };
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return { ok: false, reason: 'no key matches the JWT (kid)' };
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid)
    return { ok: false, reason: 'token is not a valid JWT' };
  // A key set that cannot be fetched or read: the token may be good, but cannot be checked now.
  return { ok: false, reason: 'cannot check the token now; try again', cause: err };
};

/**
 * Verifies JWTs with `jose` against every configured key: HS256 with the secret, the PEM
 * key's own algorithm, RS256/ES256 from the key set. `algorithms` is always explicit, so a
 * token whose `alg` is `none`, or names an algorithm its key was not given for (an HS256 token
 * "signed" with an RSA public key), is refused before any key is used.
 */
export const createJwtVerifier = (
  config: JwtConfig,
): ((token: string, now: number) => Promise<JwtVerdict>) => {
  const secret = config.secret === undefined ? undefined : new TextEncoder().encode(config.secret);
  const pemAlgorithm = config.publicKey && publicKeyAlgorithm(config.publicKey);
  const jwks =
    config.jwks === undefined
      ? undefined
      : config.jwks instanceof URL
        ? createRemoteJWKSet(config.jwks, {
            timeoutDuration: JWKS_TIMEOUT_MS,
            ...(config.jwksCooldownMs !== undefined && { cooldownDuration: config.jwksCooldownMs }),
          })
        : createLocalJWKSet(config.jwks);
  const algorithms = [
    ...new Set([
      ...(secret ? ['HS256'] : []),
      ...(pemAlgorithm ? [pemAlgorithm] : []),
      ...(jwks ? JWKS_ALGORITHMS : []),
    ]),
  ];
  const key: JWTVerifyGetKey = (header, token) => {
    if (header.alg === 'HS256' && secret) return secret;
    if (header.alg === pemAlgorithm && config.publicKey && (!jwks || header.kid === undefined))
      return config.publicKey;
    if (jwks) return jwks(header, token);
    throw new errors.JOSEAlgNotAllowed(`no key for alg ${header.alg}`);
  };
  return async (token, now) => {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms,
        clockTolerance: config.leewaySeconds,
        currentDate: new Date(now),
        ...(config.audience !== undefined && { audience: config.audience }),
        ...(config.issuer !== undefined && { issuer: config.issuer }),
      });
      // Valid as long as the check above would pass: up to exp plus the leeway.
      return payload.exp === undefined
        ? { ok: true }
        : { ok: true, expiresAt: (payload.exp + config.leewaySeconds) * 1000 };
    } catch (err) {
      return reasonFor(err, algorithms);
    }
  };
};
