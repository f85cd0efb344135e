import type { QuoteMessage } from '../protocol/messages.ts';

/**
 * Folds a later delta of the same symbol into an earlier one: the result holds every field
 * changed in either, with the later values, version, seq and time. Conflation and resume
 * both use this, so a client that skips versions still ends in the exact state.
 */
export const mergeDeltas = (earlier: QuoteMessage, later: QuoteMessage): QuoteMessage =>
  // Not `{ ...earlier, ...later }`: in V8 a spread that adds keys the first lacked (the usual
  // case for two deltas) takes a slow path (bench/README.md, "Object spreads").
  Object.assign({}, earlier, later);
