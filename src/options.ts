import { parseArgs } from 'node:util';
import { TickstreamError } from './errors.ts';

/** Flag values as `node:util` parseArgs returns them. */
export type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** A command's flags, as parseArgs describes them. */
export type FlagSpecs = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

/** The environment variable that sets a flag: `history-size` → `TICKSTREAM_HISTORY_SIZE`. */
export const envName = (flag: string): string => `TICKSTREAM_${flag.replace(/-/g, '_').toUpperCase()}`;

// Which values of a parse came from the environment, so an error names the variable the user set.
const fromEnv = new WeakMap<FlagValues, Set<string>>();

/** How to name a flag in an error: `--speed`, or `TICKSTREAM_SPEED` when that is where it came from. */
export const flagName = (values: FlagValues, name: string): string =>
  fromEnv.get(values)?.has(name) ? envName(name) : `--${name}`;

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/**
 * Parses a command's flags (unknown ones are usage errors). A flag not on the command line is
 * read from `TICKSTREAM_<FLAG>`, so the command line wins over the environment: a boolean
 * takes true/false (1/0, yes/no, on/off), a repeatable flag one value (lists comma-separated),
 * and an empty variable counts as unset.
 */
export const parseFlags = (
  args: string[],
  specs: FlagSpecs,
  { env = process.env, positionals = false }: { env?: NodeJS.ProcessEnv; positionals?: boolean } = {},
): { values: FlagValues; positionals: string[] } => {
  const parsed = parseArgs({ args, options: specs, strict: true, allowPositionals: positionals });
  const values: FlagValues = { ...parsed.values };
  const set = new Set<string>();
  for (const [name, spec] of Object.entries(specs)) {
    const raw = env[envName(name)];
    if (values[name] !== undefined || raw === undefined || raw.trim() === '') continue;
    if (spec.type === 'boolean') {
      const word = raw.trim().toLowerCase();
      if (!TRUE.has(word) && !FALSE.has(word))
        throw new TickstreamError('bad_usage', `${envName(name)} must be true or false, got "${raw}"`);
      values[name] = TRUE.has(word);
    } else values[name] = spec.multiple ? [raw] : raw;
    set.add(name);
  }
  fromEnv.set(values, set);
  return { values, positionals: parsed.positionals };
};

/** A flag's string value, or undefined. */
export const str = (values: FlagValues, name: string): string | undefined => {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
};

/** A numeric flag: checked here so a typo fails at start with the flag's name, not later. */
export const num = (
  values: FlagValues,
  name: string,
  fallback: number,
  { min = -Infinity, max = Infinity } = {},
): number => {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new TickstreamError(
      'bad_config',
      `${flagName(values, name)} must be a number from ${min} to ${max}, got "${raw}"`,
    );
  }
  return n;
};

/** A duration flag: `500`, `500ms`, `5s`, `10m`, `2h`, in milliseconds. */
export const duration = (values: FlagValues, name: string, fallbackMs: number): number => {
  const raw = str(values, name);
  if (raw === undefined) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m)
    throw new TickstreamError(
      'bad_config',
      `${flagName(values, name)} must be a duration like 500ms, 5s, 10m or 2h, got "${raw}"`,
    );
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms']!;
  return Number(m[1]) * unit;
};
