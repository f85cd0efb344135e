import { describe, expect, it } from 'vitest';
import type { ParsedHeadline } from '../../src/parse/events.ts';
import { parseText } from '../../src/parse/parse-text.ts';
import { newParseStats } from '../../src/parse/stats.ts';

const headlines = (text: string): ParsedHeadline[] =>
  parseText(text).filter((e): e is ParsedHeadline => e.type === 'headline');

describe('stories', () => {
  it.each([
    ['SEOUL: Blinken condemned the arms deal.', 'SEOUL'],
    ['WASHINGTON/BEIJING: The two sides met on Friday.', 'WASHINGTON/BEIJING'],
    ['NEW YORK: Stocks closed higher.', 'NEW YORK'],
    ['ST. PETERSBURG: The forum opened.', 'ST. PETERSBURG'],
    ['KARACHI:\u00a0The rupee held steady.', 'KARACHI'],
  ])('starts a story at a dateline paragraph: %s', (lead, dateline) => {
    expect(headlines(lead)).toMatchObject([{ dateline, line: 1 }]);
  });

  it.each(['Note: markets were closed.', 'KSE100: up 771 points.', 'SEOUL:no space after the colon'])(
    'is not fooled by a colon that is not a dateline: %s',
    (line) => {
      expect(headlines(line)).toEqual([]);
    },
  );

  it('separates subheads from body and leaves page chrome out', () => {
    const [story] = headlines(
      [
        'NEW YORK: Wall Street rose on Friday. Tech led the gains.',
        '',
        'The S&P 500 gained 1.2%.',
        '',
        'Banks lag behind',
        '',
        '“We are cautious,” said one trader.',
        '',
        'Comments',
        '',
        'Comments are closed.',
        '',
        '200 characters',
        '',
        'Copyright Business Recorder, 2023',
      ].join('\n'),
    );
    expect(story).toEqual({
      type: 'headline',
      line: 1,
      id: expect.stringMatching(/^[0-9a-f]{16}$/),
      dateline: 'NEW YORK',
      title: 'Wall Street rose on Friday.',
      subheads: ['Banks lag behind'],
      text: 'Wall Street rose on Friday. Tech led the gains.\n\nThe S&P 500 gained 1.2%.\n\n“We are cautious,” said one trader.',
    });
  });

  it('ends a story at the comments, so later page text is not story text', () => {
    const [story] = headlines('SEOUL: Lead sentence.\nBody.\nComments\nMost read stories today.\n');
    expect(story?.text).toBe('Lead sentence.\n\nBody.');
  });

  it('keeps reading through inline chrome such as an advertisement', () => {
    const [story] = headlines('SEOUL: Lead sentence.\nAdvertisement\nBody goes on.');
    expect(story?.text).toBe('Lead sentence.\n\nBody goes on.');
  });

  it('emits one headline per dateline, each where it ends', () => {
    const events = parseText(
      'SEOUL: First story.\nMore.\nAIRLINK 80.60 Increased By ▲ 1.19 (1.5%)\nTOKYO: Second story.',
    );
    expect(events.map((e) => (e.type === 'headline' ? e.dateline : e.type))).toEqual([
      'SEOUL',
      'quote',
      'TOKYO',
    ]);
  });

  it('gives the same story the same id, whatever the whitespace or frame', () => {
    const a = headlines('SEOUL: Blinken met Yoon.\nBody.');
    const b = headlines('\n\nSEOUL:  Blinken\u00a0met Yoon. \r\nBody, rewritten.\r\n');
    const c = headlines('TOKYO: Blinken met Yoon.');
    expect(a[0]!.id).toBe(b[0]!.id);
    expect(a[0]!.id).not.toBe(c[0]!.id);
  });

  it('does not end the title at an abbreviation or an initial', () => {
    expect(headlines('WASHINGTON: The U.S. and Mr. Kim met. Talks went on.')[0]?.title).toBe(
      'The U.S. and Mr. Kim met.',
    );
    expect(headlines('SEOUL: Benjamin A. Engel said so. Others disagreed.')[0]?.title).toBe(
      'Benjamin A. Engel said so.',
    );
  });

  it('trims a long title at a word and marks the cut', () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const title = headlines(`SEOUL: ${words}.`)[0]!.title;
    expect(title.length).toBeLessThanOrEqual(121);
    expect(title.endsWith('…')).toBe(true);
    expect(words.startsWith(title.slice(0, -1))).toBe(true);
    expect(words[title.length - 1]).toBe(' ');
  });

  it('counts every line as blank, quote, story, rejected or noise', () => {
    const stats = newParseStats();
    parseText(
      [
        'Markets',
        'AIRLINK 80.60 Increased By ▲ 1.19 (1.5%)',
        'AIRLINK 80.60 Increased By ▲ 1.19 (2.5%)',
        'AIRLINK eighty Increased By ▲ 1.19 (1.5%)',
        '',
        'SEOUL: Lead.',
        'Subhead here',
        'Body.',
        'Comments',
        '200 characters',
      ].join('\n'),
      stats,
    );
    expect(stats).toEqual({
      lines: 10,
      blank: 1,
      quotes: 2,
      suspect: 1,
      rejected: 1,
      headlines: 1,
      storyLines: 3,
      noise: 3,
    });
  });
});
