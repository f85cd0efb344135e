/**
 * Inputs built to find a parser's worst case: garbage bytes, invalid UTF-8, one huge line,
 * millions of tiny ones, numbers that do not fit a double. The parser-fuzz test checks each is
 * parsed sanely in bounded memory; `npm run bench:parse -- --hostile` times each against the seed.
 */
const MB = 1024 * 1024;

/** Deterministic bytes (xorshift), so a failure reproduces from the same corpus. */
const garbage = (size: number, seedValue = 0x9e3779b9): Buffer => {
  const out = Buffer.alloc(size);
  let x = seedValue;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
};

export interface HostileText {
  name: string;
  text: () => string;
}

export const HOSTILE_TEXTS: HostileText[] = [
  { name: 'binary garbage (4 MB)', text: () => garbage(4 * MB).toString('utf8') },
  { name: 'binary garbage as latin1 (2 MB)', text: () => garbage(2 * MB, 7).toString('latin1') },
  {
    name: 'invalid UTF-8 sequences (2 MB)',
    text: () =>
      Buffer.concat(
        Array.from({ length: (2 * MB) / 16 }, () =>
          Buffer.from([
            0xc3, 0x28, 0xf0, 0x28, 0x8c, 0xbc, 0xed, 0xa0, 0x80, 0xff, 0xfe, 0x41, 0x20, 0x31, 0x0a, 0xc0,
          ]),
        ),
      ).toString('utf8'),
  },
  {
    name: 'lone surrogates in quote lines',
    text: () => `AIRLINK\ud800 80.60 Increased By ▲ 1.19 (1.5%)\n`.repeat(20_000),
  },
  { name: 'one 10 MB line of letters', text: () => 'A'.repeat(10 * MB) },
  {
    name: 'one 10 MB quote-like line (rejected path)',
    text: () => `AIRLINK 80.60 Increased By ▲ ${'1,'.repeat(5 * MB)} (1.5%`,
  },
  {
    name: 'one 10 MB line of digits and parentheses',
    text: () => `(${'1'.repeat(49)}`.repeat((10 * MB) / 50),
  },
  { name: 'a 2 MB story paragraph', text: () => `SEOUL: ${'a. '.repeat((2 * MB) / 3)}` },
  { name: 'a million empty lines', text: () => '\n'.repeat(1_000_000) },
  { name: 'a million CRLF blank lines with NBSP and tabs', text: () => ' \t\u00a0\r\n'.repeat(1_000_000) },
  { name: '200,000 repeated @@ markers', text: () => '@@ 2023-11-09T04:31:00.000Z\n'.repeat(200_000) },
  { name: 'one 2 MB @@ marker line', text: () => '@'.repeat(2 * MB) },
  {
    name: 'huge numbers (400 digits)',
    text: () =>
      [
        `KSE100 ${'9'.repeat(400)} Increased By 771.4 (1.07%)`,
        `AIRLINK 80.60 Increased By ▲ ${'9'.repeat(400)} (1.5%)`,
        `AIRLINK 80.60 Increased By ▲ 1.19 (${'9'.repeat(400)}%)`,
        `HBL ${'1'.repeat(30)}.${'1'.repeat(30)} Decreased By ▼ -0.08 (-0.07%)`,
      ].join('\n'),
  },
  {
    name: 'NaN and Infinity text',
    text: () =>
      [
        'AIRLINK NaN Increased By ▲ 1.19 (1.5%)',
        'AIRLINK Infinity Increased By ▲ 1.19 (1.5%)',
        'AIRLINK 80.60 Increased By ▲ NaN (1.5%)',
        'AIRLINK 80.60 Increased By ▲ -Infinity (Infinity%)',
        'KSE100 1e308 Increased By 1e308 (1e308%)',
      ].join('\n'),
  },
];
