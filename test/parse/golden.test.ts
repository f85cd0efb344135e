import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseText } from '../../src/parse/parse-text.ts';
import { fixturePath, repoPath } from '../helpers.ts';

const GOLDEN = fixturePath('parse-seed.golden.ndjson');

describe('the seed capture', () => {
  // After an intended change of output, rewrite the file with
  // `UPDATE_GOLDEN=1 npx vitest run test/parse/golden.test.ts` and review its diff.
  it('parses to exactly the golden events', () => {
    const ndjson = parseText(readFileSync(repoPath('replay/seed.txt'), 'utf8'))
      .map((event) => `${JSON.stringify(event)}\n`)
      .join('');
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, ndjson);
    expect(ndjson).toBe(readFileSync(GOLDEN, 'utf8'));
  });
});
