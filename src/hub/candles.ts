import type { Bar, CandleMessage } from '../protocol/messages.ts';

/** The `candle` a client gets for a bar an event changed: the whole bar with the event's seq. */
export const candleOf = (seq: number, bar: Bar): CandleMessage => ({ type: 'candle', seq, ...bar });
