/**
 * What a parse read, line by line: every line is blank, a quote, part of a story, rejected
 * or noise (page chrome and prose outside a story), so the five add up to `lines`.
 */
export interface ParseStats {
  lines: number;
  blank: number;
  quotes: number;
  /** Quotes that parsed but whose parts disagree (counted within `quotes`). */
  suspect: number;
  rejected: number;
  headlines: number;
  /** Lines that went into headlines: datelines, subheads and body paragraphs. */
  storyLines: number;
  noise: number;
}

/** All counts at zero, ready to pass to `parseText`. */
export const newParseStats = (): ParseStats => ({
  lines: 0,
  blank: 0,
  quotes: 0,
  suspect: 0,
  rejected: 0,
  headlines: 0,
  storyLines: 0,
  noise: 0,
});

/** One line for a person: `quotes 34 (suspect 0), headlines 1 (52 lines), …`. */
export const formatStats = (s: ParseStats): string =>
  `quotes ${s.quotes} (suspect ${s.suspect}), headlines ${s.headlines} (${s.storyLines} lines), ` +
  `rejected ${s.rejected}, noise ${s.noise}, blank ${s.blank}, lines ${s.lines}`;
