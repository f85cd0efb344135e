import { describe, expect, it } from 'vitest';
import { parseText } from '../../src/parse/parse-text.ts';
import { fixture } from '../helpers.ts';
import { readFileSync } from 'node:fs';
import { repoPath } from '../helpers.ts';

const seed = readFileSync(repoPath('replay/seed.txt'), 'utf8');

describe('parseText on the seed capture', () => {
  const events = parseText(seed);
  const quotes = events.filter((e) => e.type === 'quote');

  it('reads all 34 ticker lines as quotes, none suspect', () => {
    expect(quotes).toHaveLength(34);
    expect(quotes.filter((q) => q.suspect)).toEqual([]);
    expect(events.filter((e) => e.type === 'rejected')).toEqual([]);
  });

  it('reads a rising stock', () => {
    expect(quotes[0]).toEqual({
      type: 'quote',
      symbol: 'AIRLINK',
      kind: 'stock',
      price: 80.6,
      change: 1.19,
      changePercent: 1.5,
      direction: 'up',
      line: 1,
    });
  });

  it('gives a decrease its sign', () => {
    expect(quotes.find((q) => q.symbol === 'BOP')).toMatchObject({
      price: 5.26,
      change: -0.07,
      changePercent: -1.31,
      direction: 'down',
    });
  });

  it('reads indices with thousands separators as kind index', () => {
    expect(quotes.find((q) => q.symbol === 'KSE100')).toMatchObject({
      kind: 'index',
      price: 72743,
      change: 771.4,
      changePercent: 1.07,
      direction: 'up',
    });
    expect(quotes.filter((q) => q.kind === 'index').map((q) => q.symbol)).toEqual([
      'BR100',
      'BR30',
      'KSE100',
      'KSE30',
    ]);
  });

  it('reads the SEOUL story as one headline with subheads and no page chrome', () => {
    const headlines = events.filter((e) => e.type === 'headline');
    expect(headlines).toHaveLength(1);
    const story = headlines[0]!;
    expect(story.dateline).toBe('SEOUL');
    expect(
      story.title.startsWith('US Secretary of State Antony Blinken on Thursday condemned North Korea'),
    ).toBe(true);
    expect(story.title.length).toBeLessThanOrEqual(121);
    expect(story.subheads).toEqual(['Blinken calls for G7 ‘clear voice’ on Gaza', '‘Upgraded alliance’']);
    expect(story.text).toContain(
      'US Secretary of Defence Lloyd Austin is also scheduled to visit South Korea this month.',
    );
    expect(story.text).not.toContain('Comments');
    expect(story.text).not.toContain('200 characters');
  });

  it('gives the same story the same id when read again', () => {
    const again = parseText(fixture('two-frames.txt')).filter((e) => e.type === 'headline');
    const first = events.find((e) => e.type === 'headline');
    expect(again.map((h) => h.type === 'headline' && h.id)).toEqual([
      first?.type === 'headline' && first.id,
      first?.type === 'headline' && first.id,
    ]);
  });
});

describe('parseText on bad lines', () => {
  it('rejects a quote-like line whose price is not a number, with its line number', () => {
    const [event] = parseText('AIRLINK eighty Increased By ▲ 1.19 (1.5%)');
    expect(event).toMatchObject({ type: 'rejected', line: 1, reason: 'price "eighty" is not a number' });
  });

  it('never reads prose holding a symbol and numbers as a quote', () => {
    expect(parseText('The KSE100 index gained 771 points')).toEqual([]);
  });
});
