import { duration, num, str, type FlagValues } from '../options.ts';

/** parseArgs descriptors for the transport's flags; env PORT and HOST are their defaults. */
export const transportFlags = {
  port: { type: 'string' },
  host: { type: 'string' },
  heartbeat: { type: 'string' },
  'max-payload': { type: 'string' },
} as const;

export const transportHelp = `  --port N           listen port (env PORT, default 8080; 0 = any free port)
  --host ADDR        listen address (env HOST, default 0.0.0.0)
  --heartbeat D      heartbeat interval (default 15s)
  --max-payload N    largest client frame in bytes (default 65536)`;

export interface TransportConfig {
  port: number;
  host: string;
  heartbeatMs: number;
  /** Largest client frame accepted, in bytes; larger ones close with 1009. */
  maxPayload: number;
}

export const transportConfig = (
  values: FlagValues,
  env: NodeJS.ProcessEnv = process.env,
): TransportConfig => ({
  port: num({ port: str(values, 'port') ?? env.PORT }, 'port', 8080, { min: 0, max: 65535 }),
  host: str(values, 'host') ?? env.HOST ?? '0.0.0.0',
  heartbeatMs: duration(values, 'heartbeat', 15_000),
  maxPayload: num(values, 'max-payload', 65_536, { min: 256 }),
});
