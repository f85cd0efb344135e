import type { Headline, LineValues } from '../protocol/messages.ts';

/** A ticker line read as a quote. `line` is the 1-based line number within its frame. */
export interface ParsedQuote extends LineValues {
  type: 'quote';
  symbol: string;
  line: number;
  /** Set when the line parses but its parts disagree (direction word vs sign, percent vs change). */
  suspect?: string;
}

/** A news story read from the page text; `ts` is added by the pipeline, not the parser. */
export interface ParsedHeadline extends Omit<Headline, 'ts'> {
  type: 'headline';
  line: number;
}

/** A line that looks like a quote and is not one: reported, never silently dropped. */
export interface Rejected {
  type: 'rejected';
  line: number;
  /** The line, cut to `REJECTED_TEXT_MAX` characters (then `length` says how long it was). */
  text: string;
  reason: string;
  length?: number;
}

/** How much of a rejected line is kept and logged: a 10 MB line must not be held or logged whole. */
export const REJECTED_TEXT_MAX = 200;

/** Cuts hostile-length text for events and log lines, marking the cut. */
export const clip = (text: string, max = REJECTED_TEXT_MAX): string =>
  text.length <= max ? text : `${text.slice(0, max)}…`;

/** A rejected event whose text is clipped, with the line's length where it was cut. */
export const rejected = (line: number, text: string, reason: string): Rejected => ({
  type: 'rejected',
  line,
  text: clip(text),
  reason,
  ...(text.length > REJECTED_TEXT_MAX && { length: text.length }),
});

export type ParsedEvent = ParsedQuote | ParsedHeadline | Rejected;

export const isQuote = (e: ParsedEvent): e is ParsedQuote => e.type === 'quote';
export const isHeadline = (e: ParsedEvent): e is ParsedHeadline => e.type === 'headline';
export const isRejected = (e: ParsedEvent): e is Rejected => e.type === 'rejected';
