import { createHash } from 'node:crypto';
import type { ParsedHeadline } from './events.ts';

// One or more places in capitals, joined by `/`: `SEOUL`, `NEW YORK`, `WASHINGTON/BEIJING`, `ST. LOUIS`.
const PLACE = `[A-Z][A-Z.'’ -]{0,30}[A-Z.]|[A-Z]`;
const DATELINE = new RegExp(`^((?:${PLACE})(?:/(?:${PLACE}))*):\\s+(\\S.*)$`);
const CLOSING_PUNCTUATION = /[.!?…:;]["”’')\]]*$/;
/** Page chrome that marks the end of an article: what follows is not story text. */
const END_OF_ARTICLE = [
  /^comments$/i,
  /^comments are closed\.?$/i,
  /^\d+ characters$/i,
  /^(?:© ?)?copyright\b.{0,80}\b(?:19|20)\d\d\.?$/i,
];
/** Page chrome that can sit inside an article without ending it. */
const INLINE_CHROME = [/^(?:advertisement|share|share this|follow us|read more)$/i, /^tags?: /i];
const SUBHEAD_MAX = 90;
const TITLE_MAX = 120;
// Words whose period does not end the lead sentence (`U.S.`, `A.` initials are found by shape).
const ABBREVIATIONS = new Set(
  'Mr Mrs Ms Dr St Gen Sen Rep Gov Lt Col Maj Capt Sgt Prof Jr Sr Inc Co Corp Ltd No vs Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Rs Mn Bn'.split(
    ' ',
  ),
);

/** Page chrome that is never story text; `ends` says whether the article ends there. */
export const matchChrome = (paragraph: string): { ends: boolean } | null => {
  if (END_OF_ARTICLE.some((re) => re.test(paragraph))) return { ends: true };
  if (INLINE_CHROME.some((re) => re.test(paragraph))) return { ends: false };
  return null;
};

/** The dateline and lead text when a paragraph opens a story (`SEOUL: …`, `NEW YORK: …`). */
export const matchDateline = (paragraph: string): { dateline: string; lead: string } | null => {
  const m = DATELINE.exec(paragraph);
  return m ? { dateline: m[1]!, lead: m[2]! } : null;
};

/** A story read so far: its dateline paragraph and what followed it. */
export interface StoryDraft {
  line: number;
  dateline: string;
  lead: string;
  paragraphs: string[];
}

/** Turns a finished draft into a headline event with a content-derived, stable id. */
export const finishStory = (draft: StoryDraft): ParsedHeadline => {
  const subheads: string[] = [];
  const body: string[] = [draft.lead];
  for (const p of draft.paragraphs) (isSubhead(p) ? subheads : body).push(p);
  return {
    type: 'headline',
    line: draft.line,
    id: storyId(draft.dateline, draft.lead),
    dateline: draft.dateline,
    title: titleOf(draft.lead),
    subheads,
    text: body.join('\n\n'),
  };
};

const isSubhead = (p: string): boolean => p.length <= SUBHEAD_MAX && !CLOSING_PUNCTUATION.test(p);

/** The lead's first sentence: a `.`, `!` or `?` before a capital, unless it closes `U.S.`, `A.` or `Mr.`. */
const firstSentence = (lead: string): string => {
  const ends = /[.!?]["”’)]*(?=\s+["“‘(]?[A-Z0-9])/g;
  for (let m = ends.exec(lead); m; m = ends.exec(lead)) {
    const word = lead.slice(lead.lastIndexOf(' ', m.index) + 1, m.index + 1);
    const abbreviation =
      lead[m.index] === '.' && (/^(?:[A-Za-z]\.)+$/.test(word) || ABBREVIATIONS.has(word.slice(0, -1)));
    if (!abbreviation) return lead.slice(0, m.index + m[0].length);
  }
  return lead;
};

/** The lead's first sentence, cut at a word boundary (and marked with `…`) when long. */
export const titleOf = (lead: string): string => {
  const sentence = firstSentence(lead);
  if (sentence.length <= TITLE_MAX) return sentence;
  const lastSpace = sentence.lastIndexOf(' ', TITLE_MAX);
  const cut = sentence.slice(0, lastSpace > TITLE_MAX / 2 ? lastSpace : TITLE_MAX);
  return `${cut.replace(/[\s,;:–—-]+$/, '')}…`;
};

/** Same dateline and lead give the same id, whichever frame or loop the story comes from. */
export const storyId = (dateline: string, lead: string): string =>
  createHash('sha256').update(`${dateline}\n${lead}`).digest('hex').slice(0, 16);
