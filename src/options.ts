import { TickstreamError } from './errors.ts';

/** Flag values as `node:util` parseArgs returns them. */
export type FlagValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

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
    throw new TickstreamError('bad_config', `--${name} must be a number from ${min} to ${max}, got "${raw}"`);
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
      `--${name} must be a duration like 500ms, 5s, 10m or 2h, got "${raw}"`,
    );
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms']!;
  return Number(m[1]) * unit;
};
