/**
 * What a subscription may name, and why a refusal is refused: the one table every reader of a
 * symbol list (server requests, `tail`, `<tick-tape>`, `/api/candles`) is held to.
 */
export const SYMBOL_TABLE: readonly (readonly [input: string, problem: string | undefined])[] = [
  ['AIRLINK', undefined],
  ['KSE100', undefined],
  ['OGDC-MAY', undefined],
  ['BRK.B', undefined],
  ['786', undefined],
  ['OGDC*', undefined],
  ['K*', undefined],
  ['*', undefined],
  ['A'.repeat(32), undefined],
  ['A'.repeat(32) + '*', undefined],
  ['airlink', 'symbols are capitals (AIRLINK)'],
  ['ogdc*', 'symbols are capitals (OGDC*)'],
  ['A_B', '"_" is not allowed (capitals, digits, . and -)'],
  ['bad name', '" " is not allowed (capitals, digits, . and -)'],
  ['A!', '"!" is not allowed (capitals, digits, . and -)'],
  ['A*B', '* only ends a pattern, or stands alone for every symbol'],
  ['**', '* only ends a pattern, or stands alone for every symbol'],
  ['*OGDC', '* only ends a pattern, or stands alone for every symbol'],
  ['A'.repeat(33), 'at most 32 characters'],
  ['-OGDC', 'it starts with a capital or a digit'],
  ['.5', 'it starts with a capital or a digit'],
];
