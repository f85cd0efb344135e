import { AddressBuckets, BURST_SECONDS } from './address-buckets.ts';

/**
 * What a request costs beyond its answer's items: reading, routing and answering an HTTP request
 * takes the loop about as long as building ten quotes. A flood of requests for nothing is a
 * flood all the same.
 */
export const REQUEST_ITEMS = 10;

/**
 * What the answers to one client address may hold, in items (quotes, candles, headlines, and
 * the events a resume goes through), across all its connections, SSE streams and HTTP requests:
 * building and sending an answer costs the server's one loop in proportion to them, and the
 * per-connection limits multiply by the connections an address may hold. Counted in items, not
 * in time, so a client can tell what a request costs and every machine refuses the same.
 *
 * A request is answered while its address has an item left and charged what its answer held
 * afterwards (only then is that known), which may put the address in debt: one answer is
 * bounded by the other limits (`MAX_CANDLES`, `RESUME_BUDGET`, `--max-symbols`); what this bounds
 * is how often an address may ask.
 */
export class ItemBudget {
  private readonly buckets: AddressBuckets;

  constructor(perSecond: number, now: () => number) {
    this.buckets = new AddressBuckets(perSecond, perSecond * BURST_SECONDS, now);
  }

  get perSecond(): number {
    return this.buckets.perSecond;
  }

  /** Milliseconds until `address` may ask for data again; 0 when it may now. */
  retryAfterMs(address: string): number {
    return this.buckets.msUntil(address, 1);
  }

  /** Charges `address` for one request whose answer held `items`. */
  charge(address: string, items: number): void {
    this.buckets.spend(address, REQUEST_ITEMS + items);
  }

  /** Why a request of `address` is refused, with when to ask again. */
  refusal(address: string): { message: string; retryAfterMs: number } {
    const retryAfterMs = this.retryAfterMs(address);
    return {
      message: `this address was sent more than ${this.perSecond} items a second (quotes, candles, headlines, events): ask again in ${Math.ceil(retryAfterMs / 1000)} s`,
      retryAfterMs,
    };
  }
}

/**
 * What a resume from `since` to `head` costs in items: the events it went through (the work of
 * merging them, even when few match) and the messages it sends.
 */
export const resumeCost = (head: number, since: number, sent: number): number => head - since + sent;
