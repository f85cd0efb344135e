import { TickstreamError } from '../errors.ts';
import { duration, num, str, type FlagValues } from '../options.ts';

/** What a process does in a Redis-backed cluster. */
export type BusRole = 'all' | 'ingest' | 'edge';

const ROLES: readonly BusRole[] = ['all', 'ingest', 'edge'];
/** A few of the ingest's renewals: one slow write does not mark the feed stale. */
export const DEFAULT_LEASE_MS = 6000;
/** How often the ingest writes the snapshot at most while events flow (edges roll it forward). */
export const DEFAULT_SNAPSHOT_MS = 1000;
/** Renewed every third of the lease: shorter than this and the renewals are a load of their own. */
const MIN_LEASE_MS = 300;

/** parseArgs descriptors for the scale-out flags. */
export const busFlags = {
  bus: { type: 'string' },
  role: { type: 'string' },
  'bus-maxlen': { type: 'string' },
  'bus-prefix': { type: 'string' },
  'bus-lease': { type: 'string' },
  'bus-snapshot': { type: 'string' },
} as const;

export const busHelp = `  --bus URL          scale out on Redis (redis://HOST:PORT); without it one process serves alone
  --role R           with --bus: ingest (source, publishes), edge (follows, serves) or all (default)
  --bus-maxlen N     events the Redis stream keeps, about (default 100000)
  --bus-prefix NAME  Redis key prefix, one per cluster sharing a Redis (default tickstream)
  --bus-lease D      ingest: how long its lease lasts unrenewed (renewed every third of it); one
                     ingest at a time holds it, edges show the feed stale once it runs out (default 6s)
  --bus-snapshot D   ingest: write the snapshot to Redis at most this often (and every 1000
                     events); a reader rolls it forward from the stream (default 1s)`;

export interface BusConfig {
  url: string;
  role: BusRole;
  /** Approximate cap of the event stream (`XADD MAXLEN ~`). */
  maxLen: number;
  /** Key prefix: `<prefix>:events`, `<prefix>:status`, `<prefix>:state`, `<prefix>:ingest`. */
  prefix: string;
  /** How long the ingest's lease lasts unrenewed (ms); it renews every third of that. */
  leaseMs: number;
  /** Longest wait between snapshot writes while events flow (ms). */
  snapshotMs: number;
}

/**
 * The Redis URL as logs and errors show it: the password (`redis://:PASS@host`,
 * `redis://user:PASS@host`) replaced with `***`. Every place that prints the URL goes through here.
 */
export const redactUrl = (url: string): string => {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL the parser takes: hide whatever sits between "//" and "@".
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
};

/** The bus settings, or undefined for the default single-process, in-memory mode. */
export const busConfig = (values: FlagValues): BusConfig | undefined => {
  const url = str(values, 'bus');
  const role = str(values, 'role');
  if (url === undefined) {
    if (role !== undefined) throw new TickstreamError('bad_config', '--role needs --bus redis://HOST:PORT');
    return undefined;
  }
  if (!/^rediss?:\/\//.test(url))
    throw new TickstreamError(
      'bad_config',
      `--bus must be a redis:// or rediss:// URL, got "${redactUrl(url)}"`,
    );
  if (role !== undefined && !ROLES.includes(role as BusRole))
    throw new TickstreamError('bad_config', `--role must be one of ${ROLES.join(', ')}, got "${role}"`);
  const leaseMs = duration(values, 'bus-lease', DEFAULT_LEASE_MS);
  if (leaseMs < MIN_LEASE_MS)
    throw new TickstreamError(
      'bad_config',
      `--bus-lease must be at least ${MIN_LEASE_MS}ms, got ${leaseMs}ms`,
    );
  return {
    url,
    role: (role as BusRole | undefined) ?? 'all',
    maxLen: num(values, 'bus-maxlen', 100_000, { min: 1 }),
    prefix: str(values, 'bus-prefix') ?? 'tickstream',
    leaseMs,
    snapshotMs: duration(values, 'bus-snapshot', DEFAULT_SNAPSHOT_MS),
  };
};
