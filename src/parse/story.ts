import { createHash } from 'node:crypto';
import type { ParsedHeadline } from './events.ts';

const DATELINE = /^([A-Z][A-Z.'’ -]*[A-Z.](?:\/[A-Z][A-Z.'’ -]*[A-Z.])*):\s+(\S.*)$/;
const CLOSING_PUNCTUATION = /[.!?…:;]["”’')\]]*$/;
const CHROME = [
  /^comments$/i,
  /^comments are closed\.?$/i,
  /^\d+ characters$/i,
  /^copyright\b/i,
  /^(advertisement|share|share this|follow us|read more|related|tags?:?.*)$/i,
];
const SUBHEAD_MAX = 90;
const TITLE_MAX = 120;

/** Page chrome that is never story text. */
export const isChrome = (paragraph: string): boolean => CHROME.some((re) => re.test(paragraph));

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

/** The lead's first sentence, cut at a word boundary when long. */
export const titleOf = (lead: string): string => {
  const sentence = /^(.+?[.!?])["”’]?(?:\s+(?=[A-Z“"‘])|$)/.exec(lead)?.[1] ?? lead;
  if (sentence.length <= TITLE_MAX) return sentence;
  const cut = sentence.slice(0, TITLE_MAX + 1);
  const atWord = cut.slice(0, Math.max(cut.lastIndexOf(' '), TITLE_MAX / 2)).replace(/[\s,;:–—-]+$/, '');
  return `${atWord}…`;
};

/** Same dateline and lead give the same id, whichever frame or loop the story comes from. */
export const storyId = (dateline: string, lead: string): string =>
  createHash('sha256').update(`${dateline}\n${lead}`).digest('hex').slice(0, 16);
