import { describe, expect, it } from 'vitest';
import { parseText } from '../../src/parse/parse-text.ts';
import { parseQuoteLine } from '../../src/parse/quote-line.ts';

const values = (line: string) => {
  const event = parseQuoteLine(line, 1);
  if (event?.type !== 'quote') throw new Error(`not a quote: ${JSON.stringify(event)}`);
  const { symbol, kind, price, change, changePercent, direction, suspect } = event;
  return { symbol, kind, price, change, changePercent, direction, suspect };
};

describe('quote lines, one row per variant the ticker writes', () => {
  it.each([
    [
      'a rising stock',
      'AIRLINK 80.60 Increased By ▲ 1.19 (1.5%)',
      ['AIRLINK', 'stock', 80.6, 1.19, 1.5, 'up'],
    ],
    [
      'a falling stock',
      'BOP 5.26 Decreased By ▼ -0.07 (-1.31%)',
      ['BOP', 'stock', 5.26, -0.07, -1.31, 'down'],
    ],
    ['a whole percent', 'WTL 1.33 Decreased By ▼ -0.07 (-5%)', ['WTL', 'stock', 1.33, -0.07, -5, 'down']],
    [
      'No Change with the arrow the site keeps',
      'BOP 5.44 No Change ▼ 0.00 (0%)',
      ['BOP', 'stock', 5.44, 0, 0, 'unchanged'],
    ],
    ['No Change with ▲', 'HBL 117.85 No Change ▲ 0.00 (0%)', ['HBL', 'stock', 117.85, 0, 0, 'unchanged']],
    [
      'an index with a separator',
      'KSE100 72,743 Increased By 771.4 (1.07%)',
      ['KSE100', 'index', 72743, 771.4, 1.07, 'up'],
    ],
    [
      'an index with decimals',
      'ALLSHR 120,455.75 Increased By 1,204.5 (1.01%)',
      ['ALLSHR', 'index', 120455.75, 1204.5, 1.01, 'up'],
    ],
    [
      'an index with a whole change',
      'KSE30 24,034 Decreased By -112 (-0.46%)',
      ['KSE30', 'index', 24034, -112, -0.46, 'down'],
    ],
    [
      'an index falling by thousands',
      'KSE100 120,455 Decreased By -1,204 (-0.99%)',
      ['KSE100', 'index', 120455, -1204, -0.99, 'down'],
    ],
    ['an index below a thousand', 'BR30 980.5 No Change 0 (0%)', ['BR30', 'index', 980.5, 0, 0, 'unchanged']],
    [
      'a known index with an arrow',
      'KMI30 118,000 Increased By ▲ 1,180 (1.01%)',
      ['KMI30', 'index', 118000, 1180, 1.01, 'up'],
    ],
    [
      'a symbol with digits',
      'PSXDIV20 9,876 Increased By 98.5 (1.01%)',
      ['PSXDIV20', 'index', 9876, 98.5, 1.01, 'up'],
    ],
    [
      'a future with a hyphen',
      'OGDC-MAY 137.20 Increased By ▲ 0.50 (0.37%)',
      ['OGDC-MAY', 'stock', 137.2, 0.5, 0.37, 'up'],
    ],
    [
      'a right with digits after the hyphen',
      'PSX-R1 2.05 Decreased By ▼ -0.05 (-2.38%)',
      ['PSX-R1', 'stock', 2.05, -0.05, -2.38, 'down'],
    ],
    [
      // Found by the property test: leading zeros counted toward the 15-digit bound.
      'a price whose leading zeros make it longer than 15 digits',
      'A0000A-AA 00000100000000.00 Increased By ▲ 0.01 (0%)',
      ['A0000A-AA', 'stock', 100000000, 0.01, 0, 'up'],
    ],
    [
      'a decrease that omits the minus',
      'FFL 9.70 Decreased By ▼ 0.15 (1.52%)',
      ['FFL', 'stock', 9.7, -0.15, -1.52, 'down'],
    ],
    [
      'an increase written with +',
      'PPL 114.30 Increased By ▲ +0.55 (+0.48%)',
      ['PPL', 'stock', 114.3, 0.55, 0.48, 'up'],
    ],
  ] as const)('%s: %s', (_name, line, [symbol, kind, price, change, changePercent, direction]) => {
    expect(values(line)).toEqual({
      symbol,
      kind,
      price,
      change,
      changePercent,
      direction,
      suspect: undefined,
    });
  });

  it.each([
    ['tabs', 'AIRLINK\t80.60\tIncreased By\t▲\t1.19\t(1.5%)'],
    ['runs of spaces', 'AIRLINK   80.60  Increased   By ▲   1.19   (1.5%)'],
    ['non-breaking spaces', 'AIRLINK\u00a080.60\u00a0Increased\u00a0By\u00a0▲\u00a01.19\u00a0(1.5%)'],
    ['narrow and figure spaces', 'AIRLINK\u202f80.60\u2007Increased By ▲ 1.19 (1.5%)'],
    ['trailing blanks and CR', 'AIRLINK 80.60 Increased By ▲ 1.19 (1.5%)  \t\r'],
    ['leading blanks', '   AIRLINK 80.60 Increased By ▲ 1.19 (1.5%)'],
    ['no space around the arrow', 'AIRLINK 80.60 Increased By▲1.19 (1.5%)'],
    ['spaces inside the parentheses', 'AIRLINK 80.60 Increased By ▲ 1.19 ( 1.5 % )'],
    ['no space before the parenthesis', 'AIRLINK 80.60 Increased By ▲ 1.19(1.5%)'],
  ])('tolerates %s', (_name, line) => {
    expect(values(line)).toEqual(values('AIRLINK 80.60 Increased By ▲ 1.19 (1.5%)'));
  });

  it('reads CRLF text line by line with the right line numbers', () => {
    const events = parseText(
      'AIRLINK 80.60 Increased By ▲ 1.19 (1.5%)\r\n\r\nBOP 5.26 Decreased By ▼ -0.07 (-1.31%)\r\n',
    );
    expect(events.map((e) => [e.type, e.line])).toEqual([
      ['quote', 1],
      ['quote', 3],
    ]);
  });

  it('gives numbers exactly as written, never a float artefact', () => {
    expect(values('X 80.60 Increased By ▲ 0.10 (0.12%)')).toMatchObject({ price: 80.6, change: 0.1 });
    expect(values('X 0.30 Decreased By ▼ -0.07 (-18.92%)')).toMatchObject({ price: 0.3, change: -0.07 });
    expect(JSON.stringify(values('KSE100 120,455.75 Increased By 1,204.55 (1.01%)'))).toContain(
      '"price":120455.75,"change":1204.55',
    );
  });
});

describe('cross-checks flag an inconsistent line but still read it', () => {
  it.each([
    ['AIRLINK 80.60 Increased By ▼ 1.19 (1.5%)', 'says "Increased" but the arrow is ▼'],
    ['BOP 5.26 Decreased By ▲ -0.07 (-1.31%)', 'says "Decreased" but the arrow is ▲'],
    ['AIRLINK 80.60 Increased By ▲ -1.19 (1.5%)', 'says "Increased" but the change is negative'],
    ['BOP 5.26 Decreased By ▼ +0.07 (-1.31%)', 'says "Decreased" but the change is positive'],
    ['AIRLINK 80.60 Increased By ▲ 1.19 (-1.5%)', 'says "Increased" but the percent is negative'],
    ['BOP 5.44 No Change ▼ 0.05 (0%)', 'says "No Change" but the change is not zero'],
    ['BOP 5.44 No Change ▼ 0.00 (1%)', 'says "No Change" but the percent is not zero'],
    ['AIRLINK 80.60 Increased By ▲ 0.00 (0%)', 'says "Increased" but the change is zero'],
    ['AIRLINK 80.60 Increased By ▲ 1.19 (2.5%)', 'percent 2.5% does not match the change (1.50%)'],
    ['KSE100 72,743 Increased By 771.4 (10.7%)', 'percent 10.7% does not match the change (1.07%)'],
    ['AIRLINK 1.00 Increased By ▲ 1.00 (100%)', 'the change is as large as the price'],
  ])('%s', (line, reason) => {
    expect(values(line).suspect).toBe(reason);
  });

  it('keeps the direction word as the source of the sign', () => {
    expect(values('AIRLINK 80.60 Increased By ▲ -1.19 (1.5%)')).toMatchObject({
      change: 1.19,
      direction: 'up',
    });
  });

  it('accepts the site rounding the percent to two decimals', () => {
    // 0.07 / 1.40 is exactly 5%; 1.19 / 79.41 is 1.4986%, shown as 1.5%.
    expect(values('WTL 1.33 Decreased By ▼ -0.07 (-5%)').suspect).toBeUndefined();
    expect(values('AIRLINK 80.60 Increased By ▲ 1.19 (1.5%)').suspect).toBeUndefined();
    expect(values('AIRLINK 80.60 Increased By ▲ 1.19 (1.49%)').suspect).toBeUndefined();
  });
});

describe('lines that look like quotes and are not', () => {
  it.each([
    ['AIRLINK eighty Increased By ▲ 1.19 (1.5%)', 'price "eighty" is not a number'],
    ['AIRLINK Increased By ▲ 1.19 (1.5%)', 'the price is missing before the direction'],
    ['AIRLINK 80.60 Increased By ▲ 1.19', 'the change percent "(N%)" is missing'],
    ['AIRLINK 80.60 Increased By ▲ 1.19 1.5%', 'the change percent "(N%)" is missing or malformed at "1.5%"'],
    [
      'AIRLINK 80.60 Increased By ▲ 1.19 (1.5)',
      'the change percent "(N%)" is missing or malformed at "(1.5)"',
    ],
    ['AIRLINK 80.60 Increased By ▲ (1.5%)', 'change "(1.5%)" after the direction is not a number'],
    ['AIRLINK 80.60 Increased By ▲', 'the change after the direction is missing'],
    ['KSE100 72,74 Increased By 771.4 (1.07%)', 'price "72,74" is not a number'],
    ['KSE100 7,2743 Increased By 771.4 (1.07%)', 'price "7,2743" is not a number'],
    ['AIRLINK 80. Increased By ▲ 1.19 (1.5%)', 'price "80." is not a number'],
    ['AIRLINK 80.60 Increased By ▲ 1.19 (1.5%) extra', 'unexpected text after the change percent: "extra"'],
    [
      'AIRLINKCOMPANY 80.60 Increased By ▲ 1.19 (1.5%)',
      expect.stringContaining('"AIRLINKCOMPANY" is not a ticker symbol'),
    ],
    ['786 80.60 Increased By ▲ 1.19 (1.5%)', expect.stringContaining('"786" is not a ticker symbol')],
    ['AIRLINK 1234567890123456 Increased By ▲ 1.19 (1.5%)', '"1234567890123456" has more than 15 digits'],
  ])('rejects %s', (line, reason) => {
    expect(parseText(`\n${line}`)).toEqual([{ type: 'rejected', line: 2, text: line, reason }]);
  });

  it('reports the line with its whitespace normalized', () => {
    expect(parseText('AIRLINK\teighty  Increased By ▲ 1.19 (1.5%) \r')).toMatchObject([
      { type: 'rejected', text: 'AIRLINK eighty Increased By ▲ 1.19 (1.5%)' },
    ]);
  });

  it.each([
    'The KSE100 index gained 771 points',
    'KSE100 gained 771.4 points (1.07%) on Thursday',
    'Shares of AIRLINK Increased By 1.19 (1.5%) in early trade.',
    'AIRLINK 80.60 increased by 1.19 (1.5%)',
    'the market said AIRLINK 80.60 Increased By ▲ 1.19 (1.5%)',
    '“AIRLINK 80.60 Increased By ▲ 1.19 (1.5%)”',
  ])('never reads prose as a quote or a broken quote: %s', (line) => {
    expect(parseText(line)).toEqual([]);
  });
});

describe('a hostile-length quote-like line', () => {
  it('is rejected with its start, its length and a short reason, not kept or logged whole', () => {
    const line = `AIRLINK ${'9'.repeat(5_000_000)} Increased By ▲ 1.19 (1.5%)`;
    const [event] = parseText(line);
    expect(event).toMatchObject({ type: 'rejected', line: 1, length: line.length });
    if (event?.type !== 'rejected') throw new Error('expected a rejected line');
    expect(event.text).toBe(`${line.slice(0, 200)}…`);
    expect(event.reason.length).toBeLessThan(120);
  });
});
