import { rejected, type ParsedEvent } from './events.ts';
import { explainFailure, looksLikeQuote, normalizeLine, quoteFrom } from './quote-line.ts';
import { QuoteScanner, isSpace } from './quote-scanner.ts';
import { newParseStats, type ParseStats } from './stats.ts';
import { finishStory, matchChrome, matchDateline, type StoryDraft } from './story.ts';

const DIGIT_0 = 48;
const DIGIT_9 = 57;
const UPPER_A = 65;
const UPPER_Z = 90;
// One scanner for every call: parsing is synchronous, and its symbol cache then carries from
// frame to frame, as the same symbols do.
const scanner = new QuoteScanner();

/**
 * Reads one frame of page text into quotes, headlines and rejected lines, in line order
 * (a story is emitted where it ends). Blank lines, page chrome and prose outside a story
 * yield nothing but are counted in `stats` when given.
 * @example parseText('KSE100 72,743 Increased By 771.4 (1.07%)')
 */
export const parseText = (text: string, stats: ParseStats = newParseStats()): ParsedEvent[] => {
  const events: ParsedEvent[] = [];
  let story: StoryDraft | undefined;
  const endStory = () => {
    if (!story) return;
    events.push(finishStory(story));
    stats.headlines++;
    story = undefined;
  };
  let lineNo = 0;
  // Lines are walked in place with indexOf: quote lines, the bulk of a feed, are scanned
  // by char code and never copied, which is most of the parser's speed.
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const next = end + 1;
    lineNo++;
    let first = start;
    while (first < end && isSpace(text.charCodeAt(first))) first++;
    const c = first < end ? text.charCodeAt(first) : -1;
    if (c === -1) {
      stats.blank++;
    } else if (
      ((c >= UPPER_A && c <= UPPER_Z) || (c >= DIGIT_0 && c <= DIGIT_9)) &&
      scanner.scan(text, first, end)
    ) {
      endStory();
      const quote = quoteFrom(scanner, lineNo);
      events.push(quote);
      stats.quotes++;
      if (quote.suspect) stats.suspect++;
    } else {
      const paragraph = normalizeLine(text.slice(first, end));
      if (looksLikeQuote(paragraph)) {
        endStory();
        events.push(rejected(lineNo, paragraph, explainFailure(scanner, text, end)));
        stats.rejected++;
      } else {
        const chrome = matchChrome(paragraph);
        const dateline = chrome ? null : matchDateline(paragraph);
        if (chrome) {
          if (chrome.ends) endStory();
          stats.noise++;
        } else if (dateline) {
          endStory();
          story = { line: lineNo, ...dateline, paragraphs: [] };
          stats.storyLines++;
        } else if (story) {
          story.paragraphs.push(paragraph);
          stats.storyLines++;
        } else {
          stats.noise++;
        }
      }
    }
    start = next;
  }
  endStory();
  stats.lines += lineNo;
  return events;
};
