import fc from 'fast-check';
import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import {
  anyCovers,
  isSymbolPattern,
  patternCovers,
  QUOTE_SYMBOL,
  readSymbolList,
  SYMBOL_PATTERN,
  symbolPatternProblem,
  SymbolPattern,
} from '../../client/protocol/index.ts';
import { parseQuoteLine } from '../../src/parse/quote-line.ts';
import { SYMBOL_TABLE } from './symbol-table.ts';

describe('the symbol grammar', () => {
  it.each(SYMBOL_TABLE)('%j: %s', (input, problem) => {
    expect(isSymbolPattern(input)).toBe(problem === undefined);
    const said = symbolPatternProblem(input);
    if (problem === undefined) expect(said).toBeUndefined();
    else
      expect(said).toBe(
        `${JSON.stringify(input)} is not a symbol like AIRLINK or a prefix pattern like OGDC*: ${problem}`,
      );
    // The wire schema is the same rule with the same words.
    const parsed = z.safeParse(SymbolPattern, input);
    expect(parsed.success).toBe(problem === undefined);
    if (!parsed.success) expect(parsed.error.issues[0]?.message).toBe(said);
  });

  it('quotes a refused input as JSON, clipped', () => {
    expect(symbolPatternProblem('A\u0000')).toMatch(/^"A\\u0000" is not/);
    expect(symbolPatternProblem('a'.repeat(1000))).toMatch(new RegExp(`^"${'a'.repeat(40)}…" is not`));
  });

  it('names a problem for every string the pattern refuses, and none for one it takes', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AZaz09.-*_ !'), maxLength: 40 }), (s) => {
        expect(symbolPatternProblem(s) === undefined).toBe(SYMBOL_PATTERN.test(s));
      }),
    );
  });

  it('reads a quote line exactly when its symbol is a quote symbol, and any such may be subscribed', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ABZ09-.a_'), minLength: 1, maxLength: 24 }), (s) => {
        const event = parseQuoteLine(`${s} 80.60 Increased By ▲ 1.19 (1.50%)`, 1);
        expect(event?.type === 'quote').toBe(QUOTE_SYMBOL.test(s));
        if (event?.type === 'quote') {
          expect(event.symbol).toBe(s);
          expect(isSymbolPattern(event.symbol)).toBe(true);
        }
      }),
    );
  });

  it('matches names exactly and patterns by prefix', () => {
    expect(patternCovers('OGDC', 'OGDC')).toBe(true);
    expect(patternCovers('OGDC', 'OGDC-MAY')).toBe(false);
    expect(patternCovers('OGDC*', 'OGDC-MAY')).toBe(true);
    expect(patternCovers('OGDC*', 'OGDC')).toBe(true);
    expect(patternCovers('OGDC*', 'OG')).toBe(false);
    expect(patternCovers('*', 'HBL')).toBe(true);
    expect(anyCovers(undefined, 'HBL')).toBe(true);
    expect(anyCovers(['KSE*', 'HBL'], 'KSE100')).toBe(true);
    expect(anyCovers(['KSE*', 'HBL'], 'OGDC')).toBe(false);
  });

  it('reads a typed list by commas or spaces, once each, and reports every bad item', () => {
    expect(readSymbolList(' KSE100, OGDC*  HBL,KSE100 ')).toEqual({
      symbols: ['KSE100', 'OGDC*', 'HBL'],
      problems: [],
    });
    expect(readSymbolList('HBL, a_b, X*Y')).toEqual({
      symbols: ['HBL'],
      problems: [symbolPatternProblem('a_b'), symbolPatternProblem('X*Y')],
    });
    expect(readSymbolList(' , ')).toEqual({ symbols: [], problems: ['the list names no symbol'] });
  });
});
