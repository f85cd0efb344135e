import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { baselineQuote, type BaselineQuote } from '../../bench/parse-baseline.ts';
import { formatQuoteLine, formatUnits, sitePercent, type SiteQuote } from '../../bench/parse-feed.ts';
import type { ParsedQuote } from '../../src/parse/events.ts';
import { parseText } from '../../src/parse/parse-text.ts';
import { KNOWN_INDICES } from '../../src/parse/quote-line.ts';
import { newParseStats } from '../../src/parse/stats.ts';

const symbol = fc
  .tuple(
    fc.stringMatching(/^[A-Z][A-Z0-9]{0,9}$/),
    fc.option(fc.stringMatching(/^[A-Z0-9]{1,4}$/), { nil: undefined }),
  )
  .map(([base, suffix]) => (suffix ? `${base}-${suffix}` : base));

const siteQuote: fc.Arbitrary<SiteQuote> = fc
  .record({
    symbol,
    index: fc.boolean(),
    scale: fc.constantFrom(0, 1, 2),
    priceUnits: fc.integer({ min: 2, max: 1e11 }),
    direction: fc.constantFrom('up', 'down', 'unchanged'),
    fraction: fc.double({ min: 0, max: 0.5, noNaN: true }),
  })
  .map(({ symbol, index, scale, priceUnits, direction, fraction }) => {
    // A rise leaves a previous price above zero, as a real one does.
    const size =
      direction === 'unchanged'
        ? 0
        : Math.min(priceUnits - 1, Math.max(1, Math.floor(priceUnits * fraction)));
    return {
      symbol,
      kind: index || KNOWN_INDICES.has(symbol) ? 'index' : 'stock',
      priceUnits,
      changeUnits: direction === 'down' ? -size : size,
      scale: index ? scale : 2,
      direction,
    } as const;
  });

const decimal = (units: number, scale: number) => Number(formatUnits(units, scale, false));
/** Whether every number written in a quote line has at most the parser's 15 significant digits. */
const withinDigits = (line: string) =>
  (line.match(/(?<=^|[\s(▲▼])[-+]?[0-9][0-9,]*(?:\.[0-9]+)?/g) ?? []).every(
    (n) => n.replace(/[-+,.]/g, '').replace(/^0+/, '').length <= 15,
  );
const fields = ({ symbol, kind, price, change, changePercent, direction }: ParsedQuote) => ({
  symbol,
  kind,
  price,
  change,
  changePercent,
  direction,
});

/** Whitespace a scrape may put where the site has one space. */
const blank = fc.constantFrom(' ', '  ', '\t', '\u00a0', ' \u202f', '\u2007');

describe('properties', () => {
  it('reads back every quote formatted the way the site formats it, not suspect', () => {
    fc.assert(
      fc.property(siteQuote, (q) => {
        const [event] = parseText(formatQuoteLine(q));
        expect(event?.type).toBe('quote');
        expect(fields(event as ParsedQuote)).toEqual({
          symbol: q.symbol,
          kind: q.kind,
          price: decimal(q.priceUnits, q.scale),
          change: decimal(q.changeUnits, q.scale),
          changePercent: Number(sitePercent(q)),
          direction: q.direction,
        });
        expect((event as ParsedQuote).suspect).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  it('reads the same values whatever whitespace separates the parts', () => {
    fc.assert(
      fc.property(siteQuote, fc.array(blank, { minLength: 12, maxLength: 12 }), blank, (q, gaps, tail) => {
        const line = formatQuoteLine(q);
        const spaced =
          line.split(' ').reduce((out, part, i) => `${out}${gaps[i - 1] ?? ''}${part}`) + tail + '\r';
        expect(parseText(spaced)).toEqual(parseText(line));
      }),
      { numRuns: 300 },
    );
  });

  // Text built from the pieces quote lines are made of, so near-misses are common.
  const piece = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(' ', ' ', '\t', '\u00a0', '\n', '\r\n') },
    { weight: 2, arbitrary: fc.constantFrom('Increased By', 'Decreased By', 'No Change', 'Increased', 'By') },
    { weight: 2, arbitrary: fc.constantFrom('▲', '▼', '(', ')', '%', '-', '+', ',', '.', ':') },
    { weight: 3, arbitrary: fc.stringMatching(/^[0-9]{1,4}(?:[.,][0-9]{1,3})?$/) },
    { weight: 2, arbitrary: fc.constantFrom('AIRLINK', 'KSE100', 'OGDC-MAY', 'SEOUL', 'The', 'Comments') },
    { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: 'grapheme' }) },
  );
  const ticklish = fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(''));
  // Real quote lines with a few pieces inserted or characters deleted: valid lines and near-misses.
  const mutated = fc
    .tuple(
      fc.array(siteQuote, { minLength: 1, maxLength: 4 }),
      fc.array(fc.tuple(fc.nat(), fc.option(piece, { nil: undefined })), { maxLength: 3 }),
    )
    .map(([quotes, edits]) =>
      edits.reduce((text, [at, insert]) => {
        const i = at % (text.length + 1);
        return insert === undefined
          ? text.slice(0, i) + text.slice(i + 1)
          : text.slice(0, i) + insert + text.slice(i);
      }, quotes.map(formatQuoteLine).join('\n')),
    );

  it('never throws, and reads a quote exactly where the plain grammar sees one', () => {
    fc.assert(
      fc.property(fc.oneof(ticklish, mutated, fc.string({ maxLength: 200, unit: 'grapheme' })), (text) => {
        const quotes = parseText(text).filter((e): e is ParsedQuote => e.type === 'quote');
        // The baseline is an independent, regex-per-line reading of the same grammar, less the
        // bound on a number's size: more than 15 significant digits cannot be held exactly, and
        // the parser rejects such a line.
        const lines = text.split('\n');
        const expected = lines
          .map((line, i) => baselineQuote(line, i + 1))
          .filter((q): q is BaselineQuote => q !== null && withinDigits(lines[q.line - 1]!));
        expect(quotes.map((q) => ({ ...fields(q), kind: undefined, line: q.line }))).toEqual(
          expected.map(({ symbol, price, change, changePercent, direction, line }) => ({
            symbol,
            kind: undefined,
            price,
            change: change + 0,
            changePercent: changePercent + 0,
            direction,
            line,
          })),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('accounts for every line: blank, quote, story, rejected or noise', () => {
    fc.assert(
      fc.property(ticklish, (text) => {
        const stats = newParseStats();
        const events = parseText(text, stats);
        const lines = text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
        expect(stats.lines).toBe(lines);
        expect(stats.blank + stats.quotes + stats.storyLines + stats.rejected + stats.noise).toBe(lines);
        expect(stats.quotes).toBe(events.filter((e) => e.type === 'quote').length);
        expect(stats.rejected).toBe(events.filter((e) => e.type === 'rejected').length);
      }),
      { numRuns: 500 },
    );
  });
});
