/**
 * `npm run bench:parse -- --hostile`: times the parser on each hostile input against a cost
 * model from the seed measured in the same run (time grows with bytes and with lines), and
 * marks an input that costs more than K times the model: only super-linear behaviour (a
 * backtracking regex, a quadratic loop) gets near that. Exits 1 when one does.
 */
import { readFileSync } from 'node:fs';
import { parseText } from '../src/parse/parse-text.ts';
import { HOSTILE_TEXTS } from '../test/reliability/hostile-texts.ts';

const K = 10;
const MB = 1024 * 1024;
const ROUNDS = 3;

/** Best CPU seconds of a few rounds: on a shared machine other work only ever adds time. */
const cpuSeconds = (text: string): number => {
  let best = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const start = process.cpuUsage();
    parseText(text);
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / 1e6);
  }
  return best;
};

const lineCount = (text: string) => text.split('\n').length;

export const runHostile = (): boolean => {
  const seed = readFileSync(new URL('../replay/seed.txt', import.meta.url), 'utf8');
  const corpus = seed.repeat(Math.ceil((2 * MB) / seed.length));
  parseText(corpus); // the JIT's steady state, not its warm-up, is the model
  const seedS = cpuSeconds(corpus);
  const perByte = seedS / corpus.length;
  const perLine = seedS / lineCount(corpus);
  process.stdout.write(
    `seed: ${((seedS / corpus.length) * MB * 1000).toFixed(1)} ms/MB of CPU (best of ${ROUNDS})\n`,
  );
  let ok = true;
  for (const { name, text } of HOSTILE_TEXTS) {
    const input = text();
    const model = perByte * input.length + perLine * lineCount(input);
    const s = cpuSeconds(input);
    // Inputs of a few lines cost microseconds: a millisecond of slack keeps timer noise out.
    const ratio = s / (model + 0.001);
    const verdict = ratio < K ? 'ok' : 'SUPER-LINEAR';
    ok &&= ratio < K;
    process.stdout.write(
      `${name.padEnd(48)} ${(input.length / MB).toFixed(2).padStart(6)} MB ${(s * 1000).toFixed(0).padStart(6)} ms ` +
        `${ratio.toFixed(2).padStart(6)}× the seed's cost (limit ${K}×) ${verdict}\n`,
    );
  }
  return ok;
};
