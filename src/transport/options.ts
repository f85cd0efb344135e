import { readFileSync } from 'node:fs';
import { TickstreamError } from '../errors.ts';
import { duration, num, str, type FlagValues } from '../options.ts';
import { authConfig, authFlags, authHelp, secretFlag } from './auth-options.ts';
import { trustedProxies } from './client-address.ts';
import type { JwtConfig } from './jwt.ts';
import { defaultMaxWaitingBytes } from './memory-ceiling.ts';
import type { MetricsAccess } from './metrics-endpoint.ts';

/** parseArgs descriptors for the transport's flags; env PORT and HOST are their defaults. */
export const transportFlags = {
  port: { type: 'string' },
  host: { type: 'string' },
  heartbeat: { type: 'string' },
  'max-payload': { type: 'string' },
  'max-symbols': { type: 'string' },
  'max-requests': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-connections-per-ip': { type: 'string' },
  'connect-rate': { type: 'string' },
  'max-items-per-ip': { type: 'string' },
  'max-request-bytes-per-ip': { type: 'string' },
  'trust-proxy': { type: 'string', multiple: true },
  'metrics-token': { type: 'string' },
  'metrics-token-file': { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  'slow-bytes': { type: 'string' },
  'max-waiting-bytes': { type: 'string' },
  'slow-close-bytes': { type: 'string' },
  'slow-close-after': { type: 'string' },
  'allow-origin': { type: 'string', multiple: true },
  ...authFlags,
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'header-timeout': { type: 'string' },
  'max-delay': { type: 'string' },
} as const;

/** `serve --help` lines for the transport's flags. */
export const transportHelp = `  --port N           listen port (env PORT, default 8080; 0 = any free port)
  --host ADDR        listen address (env HOST, default 0.0.0.0)
  --heartbeat D      heartbeat and ping interval (default 15s)
  --header-timeout D how long a client may take to send a request's headers (default 10s); a
                     slower one (a slowloris) is answered 408 and cut off
  --max-delay D      space flushes to clients at least this far apart, trading up to D of
                     latency for fewer, larger writes (default 0: a flush starts as soon as the
                     previous one is written and something is waiting)
  --max-payload N    largest client request in bytes (default 65536); a larger one is answered
                     payload_too_large, one over 4x this closes the connection with 1009
  --max-symbols N    symbols one connection may subscribe to by name (default 1000)
  --max-requests N   requests per second per connection (default 20), then rate_limited
  --max-connections N         connections in total (default 10000)
  --max-connections-per-ip N  connections from one address (default 100)
  --connect-rate N   new connections (WebSocket or SSE) per second from one address (default 20,
                     bursts up to --max-connections-per-ip)
  --max-items-per-ip N  items (quotes, candles, headlines, events) the answers to one address
                     may hold per second, over all its connections and HTTP requests (default
                     20000, bursts up to 2x); past it data requests get rate_limited (HTTP 429)
                     with when to retry
  --max-request-bytes-per-ip N  bytes of WebSocket frames one address may send per second, over
                     all its connections (default 1MiB, bursts up to 2x); past it its
                     connections are read no faster
  --trust-proxy LIST addresses or CIDRs of your reverse proxies (repeat or comma-separate): for
                     connections from them the client address is read from X-Forwarded-For
                     (the right-most entry not in LIST) or Forwarded
  --slow-bytes N     bytes waiting for a client before its quote deltas are conflated (default 1MiB)
  --slow-close-bytes N  bytes waiting for a client before it is closed with 4008 (default 8MiB)
  --max-waiting-bytes N  bytes waiting for all clients together (default a quarter of the
                     machine's memory, at most the heap limit); over it the clients holding the
                     most are conflated, then closed with 4008
  --slow-close-after D  how long a client may stay slow (conflated) before it is closed with 4008 (default 30s)
  --allow-origin O   accept browser connections only from this origin (repeat or comma-separate)
${authHelp}
  --metrics-token T  require "Authorization: Bearer T" (or ?token=T) on /metrics (or
                     --metrics-token-file FILE, or env TICKSTREAM_METRICS_TOKEN)
  --metrics-port N   serve /metrics on a listener of its own instead of the main port
  --metrics-host ADDR  that listener's address (default 127.0.0.1)
  --tls-cert FILE    serve wss/https with this PEM certificate (needs --tls-key)
  --tls-key FILE     the certificate's PEM private key`;

/** Per-connection and server-wide limits; each has a flag. */
export interface Limits {
  /** Largest request answered, in bytes; 4x this closes with 1009. */
  maxPayload: number;
  /** Symbols one connection may name in its subscriptions. */
  maxSymbols: number;
  /** Requests per second per connection before `rate_limited`. */
  maxRequestsPerSecond: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** New connections per second from one address (bursts up to `maxConnectionsPerIp`). */
  connectsPerSecond: number;
  /** Items the answers to one address may hold per second (see `ItemBudget`). */
  maxItemsPerIp: number;
  /** Bytes of frames one address may send per second (see `ReadBudget`). */
  maxRequestBytesPerIp: number;
  /** Bytes waiting for a client (socket buffer plus our queue) above which deltas are conflated. */
  slowBytes: number;
  /** Bytes waiting above which the client is closed with 4008. */
  slowCloseBytes: number;
  /** How long a client may stay conflated before it is closed with 4008. */
  slowCloseMs: number;
  /** Bytes waiting for all clients together above which the biggest are conflated, then closed. */
  maxWaitingBytes: number;
}

/** Who may connect: browser origins, a shared token, JWTs. */
export interface Security {
  /** Allowed `Origin` values; empty allows any. */
  allowOrigins: string[];
  /** A static token, compared in constant time; it never expires. */
  authToken?: string;
  /** JWT keys and required claims; a connection is closed when its token expires. */
  jwt?: JwtConfig;
}

/** Everything the transport needs to listen; `limits`, `security` and `tls` fall back to defaults. */
export interface TransportConfig {
  port: number;
  host: string;
  heartbeatMs: number;
  /** Largest client request accepted, in bytes (see `Limits.maxPayload`). */
  maxPayload: number;
  /** How long (ms) a client may take to send a request's headers; default `DEFAULT_HEADER_TIMEOUT_MS`. */
  headerTimeoutMs?: number;
  limits?: Partial<Omit<Limits, 'maxPayload'>>;
  security?: Security;
  tls?: { cert: Buffer; key: Buffer };
  /** Reverse proxies (addresses or CIDRs) whose X-Forwarded-For / Forwarded names the client. */
  trustProxy?: string[];
  /** Who may read `/metrics`, and where it is served. */
  metricsAccess?: MetricsAccess;
  /** Least time between two flushes' starts, in ms; default `DEFAULT_MAX_DELAY_MS`. */
  maxDelayMs?: number;
}

/** A request here is its headers (nothing is uploaded): a client that takes longer is not sending one. */
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000;

/** `--max-delay` when not given: see bench/README.md for what each value costs. */
export const DEFAULT_MAX_DELAY_MS = 0;

/** The limits used when no flag sets them. */
export const DEFAULT_LIMITS: Omit<Limits, 'maxPayload'> = {
  maxSymbols: 1000,
  maxRequestsPerSecond: 20,
  maxConnections: 10_000,
  maxConnectionsPerIp: 100,
  connectsPerSecond: 20,
  maxItemsPerIp: 20_000,
  maxRequestBytesPerIp: 1 << 20,
  slowBytes: 1 << 20,
  slowCloseBytes: 8 << 20,
  slowCloseMs: 30_000,
  maxWaitingBytes: defaultMaxWaitingBytes(),
};

const list = (values: FlagValues, name: string): string[] => {
  const v = values[name];
  const items = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return items
    .flatMap((s) => String(s).split(','))
    .map((s) => s.trim())
    .filter(Boolean);
};

const readPem = (values: FlagValues, name: string): Buffer => {
  const path = str(values, name)!;
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new TickstreamError('bad_config', `--${name}: cannot read ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
};

/** The per-client and per-address limits; a bad value fails here with the flag's name. */
const limitsConfig = (values: FlagValues): Omit<Limits, 'maxPayload'> => {
  const limits = {
    maxSymbols: num(values, 'max-symbols', DEFAULT_LIMITS.maxSymbols, { min: 1 }),
    maxRequestsPerSecond: num(values, 'max-requests', DEFAULT_LIMITS.maxRequestsPerSecond, { min: 1 }),
    maxConnections: num(values, 'max-connections', DEFAULT_LIMITS.maxConnections, { min: 1 }),
    maxConnectionsPerIp: num(values, 'max-connections-per-ip', DEFAULT_LIMITS.maxConnectionsPerIp, {
      min: 1,
    }),
    connectsPerSecond: num(values, 'connect-rate', DEFAULT_LIMITS.connectsPerSecond, { min: 1 }),
    maxItemsPerIp: num(values, 'max-items-per-ip', DEFAULT_LIMITS.maxItemsPerIp, { min: 1 }),
    maxRequestBytesPerIp: num(values, 'max-request-bytes-per-ip', DEFAULT_LIMITS.maxRequestBytesPerIp, {
      min: 1024,
    }),
    slowBytes: num(values, 'slow-bytes', DEFAULT_LIMITS.slowBytes, { min: 16_384 }),
    slowCloseBytes: num(values, 'slow-close-bytes', DEFAULT_LIMITS.slowCloseBytes, { min: 16_384 }),
    slowCloseMs: duration(values, 'slow-close-after', DEFAULT_LIMITS.slowCloseMs),
    maxWaitingBytes: num(values, 'max-waiting-bytes', DEFAULT_LIMITS.maxWaitingBytes, { min: 16_384 }),
  };
  if (limits.slowCloseBytes <= limits.slowBytes)
    throw new TickstreamError('bad_config', '--slow-close-bytes must be larger than --slow-bytes');
  return limits;
};

/** Where and to whom `/metrics` answers, when not on the main port to everyone. */
const metricsAccessConfig = (values: FlagValues, env: NodeJS.ProcessEnv): MetricsAccess | undefined => {
  const metricsToken = secretFlag(values, env, 'metrics-token');
  const metricsPort = str(values, 'metrics-port');
  const metricsHost = str(values, 'metrics-host');
  if (metricsHost !== undefined && metricsPort === undefined)
    throw new TickstreamError('bad_config', '--metrics-host needs --metrics-port');
  return metricsToken === undefined && metricsPort === undefined
    ? undefined
    : {
        ...(metricsToken !== undefined && { token: metricsToken }),
        ...(metricsPort !== undefined && { port: num(values, 'metrics-port', 0, { min: 0, max: 65535 }) }),
        ...(metricsHost !== undefined && { host: metricsHost }),
      };
};

/** Reads the transport flags; a bad value fails here with the flag's name. */
export const transportConfig = (
  values: FlagValues,
  env: NodeJS.ProcessEnv = process.env,
): TransportConfig => {
  const limits = limitsConfig(values);
  const hasCert = str(values, 'tls-cert') !== undefined;
  if (hasCert !== (str(values, 'tls-key') !== undefined))
    throw new TickstreamError('bad_config', '--tls-cert and --tls-key go together');
  const headerTimeoutMs = duration(values, 'header-timeout', DEFAULT_HEADER_TIMEOUT_MS);
  if (headerTimeoutMs < 1000)
    throw new TickstreamError('bad_config', `--header-timeout must be at least 1s, got ${headerTimeoutMs}ms`);
  const trustProxy = list(values, 'trust-proxy');
  // Checked here so a typo stops the start with the flag's name.
  trustedProxies(trustProxy);
  const metricsAccess = metricsAccessConfig(values, env);
  return {
    port: num({ port: str(values, 'port') ?? env.PORT }, 'port', 8080, { min: 0, max: 65535 }),
    host: str(values, 'host') ?? env.HOST ?? '0.0.0.0',
    heartbeatMs: duration(values, 'heartbeat', 15_000),
    maxPayload: num(values, 'max-payload', 65_536, { min: 256 }),
    headerTimeoutMs,
    maxDelayMs: duration(values, 'max-delay', DEFAULT_MAX_DELAY_MS),
    limits,
    security: {
      allowOrigins: list(values, 'allow-origin'),
      ...authConfig(values, env),
    },
    ...(trustProxy.length > 0 && { trustProxy }),
    ...(metricsAccess && { metricsAccess }),
    ...(hasCert && { tls: { cert: readPem(values, 'tls-cert'), key: readPem(values, 'tls-key') } }),
  };
};
