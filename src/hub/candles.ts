import type { Bar, CandleMessage } from '../protocol/messages.ts';

/** The `candle` a client gets for one bar of a bars event: the whole bar with the event's seq. */
export const candleOf = (seq: number, bar: Bar): CandleMessage => ({ type: 'candle', seq, ...bar });
