import type { ParsedEvent } from './events.ts';
import { normalizeLine, parseQuoteLine } from './quote-line.ts';
import { finishStory, isChrome, matchDateline, type StoryDraft } from './story.ts';

/**
 * Reads one frame of page text into quotes, headlines and rejected lines, in line order
 * (a story is emitted where it ends). Blank lines and page chrome yield nothing.
 * @example parseText('KSE100 72,743 Increased By 771.4 (1.07%)')
 */
export const parseText = (text: string): ParsedEvent[] => {
  const events: ParsedEvent[] = [];
  let story: StoryDraft | undefined;
  const endStory = () => {
    if (story) events.push(finishStory(story));
    story = undefined;
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const paragraph = normalizeLine(lines[i]!);
    if (paragraph === '') continue;
    const quote = parseQuoteLine(paragraph, lineNo);
    if (quote) {
      endStory();
      events.push(quote);
      continue;
    }
    if (isChrome(paragraph)) {
      endStory();
      continue;
    }
    const dateline = matchDateline(paragraph);
    if (dateline) {
      endStory();
      story = { line: lineNo, ...dateline, paragraphs: [] };
    } else if (story) {
      story.paragraphs.push(paragraph);
    }
  }
  endStory();
  return events;
};
