import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envName, num, parseFlags } from '../../src/options.ts';
import { authConfig, authFlags } from '../../src/transport/auth-options.ts';

const specs = {
  'history-size': { type: 'string' },
  loop: { type: 'boolean' },
  'allow-origin': { type: 'string', multiple: true },
} as const;

describe('flags from the command line and TICKSTREAM_<FLAG>', () => {
  it('names the variable of each flag in upper snake case', () => {
    expect(envName('history-size')).toBe('TICKSTREAM_HISTORY_SIZE');
    expect(envName('max-connections-per-ip')).toBe('TICKSTREAM_MAX_CONNECTIONS_PER_IP');
  });

  it('reads flags missing from the command line from the environment, the command line winning', () => {
    const env = {
      TICKSTREAM_HISTORY_SIZE: '500',
      TICKSTREAM_LOOP: 'yes',
      TICKSTREAM_ALLOW_ORIGIN: 'https://a,https://b',
    };
    expect(parseFlags([], specs, { env }).values).toEqual({
      'history-size': '500',
      loop: true,
      'allow-origin': ['https://a,https://b'],
    });
    expect(parseFlags(['--history-size', '7', '--allow-origin', 'https://c'], specs, { env }).values).toEqual(
      { 'history-size': '7', loop: true, 'allow-origin': ['https://c'] },
    );
  });

  it('takes true/false, 1/0, yes/no, on/off for a boolean, and an empty variable as unset', () => {
    const loop = (value: string) => parseFlags([], specs, { env: { TICKSTREAM_LOOP: value } }).values.loop;
    expect(['1', 'TRUE', 'on', ' yes '].map(loop)).toEqual([true, true, true, true]);
    expect(['0', 'false', 'Off', 'no'].map(loop)).toEqual([false, false, false, false]);
    expect(loop('')).toBeUndefined();
    expect(() => loop('maybe')).toThrow('TICKSTREAM_LOOP must be true or false, got "maybe"');
  });

  it('names the variable, not the flag, when a bad value came from the environment', () => {
    const fromEnv = parseFlags([], specs, { env: { TICKSTREAM_HISTORY_SIZE: 'lots' } }).values;
    expect(() => num(fromEnv, 'history-size', 1)).toThrow('TICKSTREAM_HISTORY_SIZE must be a number');
    const fromFlag = parseFlags(['--history-size=lots'], specs, { env: {} }).values;
    expect(() => num(fromFlag, 'history-size', 1)).toThrow('--history-size must be a number');
  });

  it('refuses unknown flags and stray positionals', () => {
    expect(() => parseFlags(['--nope'], specs, { env: {} })).toThrow(/Unknown option '--nope'/);
    expect(() => parseFlags(['file.txt'], specs, { env: {} })).toThrow(/Unexpected argument 'file.txt'/);
  });

  it('lets a secret file on the command line win over the secret in the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickstream-secret-'));
    try {
      const file = join(dir, 'token');
      writeFileSync(file, 'from-file\n');
      const env = { TICKSTREAM_AUTH_TOKEN: 'from-env' };
      const config = (args: string[]) => authConfig(parseFlags(args, authFlags, { env }).values, env);
      expect(config(['--auth-token-file', file]).authToken).toBe('from-file');
      expect(config(['--auth-token', 'from-flag']).authToken).toBe('from-flag');
      expect(config([]).authToken).toBe('from-env');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
