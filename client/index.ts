/** The tickstream client library: a reconnecting, resuming connection with a quote store. */
export {
  connect,
  MAX_REFUSALS,
  TickstreamClient,
  type ClientError,
  type ClientEvents,
  type ClientOptions,
  type ConnectionState,
  type QuoteUpdate,
  type StateChange,
  type SubscribeOptions,
  type TokenSource,
  type WebSocketConstructor,
  type WebSocketLike,
} from './client.ts';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
export { QuoteStore, type DeltaResult } from './quote-store.ts';
export type {
  Channel,
  Headline,
  MarketState,
  Position,
  Quote,
  QuoteField,
  SourceState,
  StatusMessage,
} from '../src/protocol/messages.ts';
