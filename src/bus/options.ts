import { TickstreamError } from '../errors.ts';
import { num, str, type FlagValues } from '../options.ts';

/** What a process does in a Redis-backed cluster. */
export type BusRole = 'all' | 'ingest' | 'edge';

const ROLES: readonly BusRole[] = ['all', 'ingest', 'edge'];

/** parseArgs descriptors for the scale-out flags. */
export const busFlags = {
  bus: { type: 'string' },
  role: { type: 'string' },
  'bus-maxlen': { type: 'string' },
  'bus-prefix': { type: 'string' },
} as const;

export const busHelp = `  --bus URL          scale out on Redis (redis://HOST:PORT); without it one process serves alone
  --role R           with --bus: ingest (source, publishes), edge (follows, serves) or all (default)
  --bus-maxlen N     events the Redis stream keeps, about (default 100000)
  --bus-prefix NAME  Redis key prefix, one per cluster sharing a Redis (default tickstream)`;

export interface BusConfig {
  url: string;
  role: BusRole;
  /** Approximate cap of the event stream (`XADD MAXLEN ~`). */
  maxLen: number;
  /** Key prefix: `<prefix>:events`, `<prefix>:status`, `<prefix>:state`. */
  prefix: string;
}

/** The bus settings, or undefined for the default single-process, in-memory mode. */
export const busConfig = (values: FlagValues): BusConfig | undefined => {
  const url = str(values, 'bus');
  const role = str(values, 'role');
  if (url === undefined) {
    if (role !== undefined) throw new TickstreamError('bad_config', '--role needs --bus redis://HOST:PORT');
    return undefined;
  }
  if (!/^rediss?:\/\//.test(url))
    throw new TickstreamError('bad_config', `--bus must be a redis:// or rediss:// URL, got "${url}"`);
  if (role !== undefined && !ROLES.includes(role as BusRole))
    throw new TickstreamError('bad_config', `--role must be one of ${ROLES.join(', ')}, got "${role}"`);
  return {
    url,
    role: (role as BusRole | undefined) ?? 'all',
    maxLen: num(values, 'bus-maxlen', 100_000, { min: 1 }),
    prefix: str(values, 'bus-prefix') ?? 'tickstream',
  };
};
