/**
 * The tickstream client library (`@tickstream/client`): a reconnecting, resuming connection
 * with a quote store. The element is `@tickstream/client/widget`; the protocol's zod schemas
 * are `@tickstream/client/protocol`.
 */
export {
  connect,
  MAX_REFUSALS,
  TOKEN_TIMEOUT_MS,
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
  ClientRequest,
  Direction,
  Headline,
  MarketState,
  NoticeMessage,
  Position,
  Quote,
  QuoteField,
  QuoteKind,
  ServerMessage,
  SourceState,
  StatusMessage,
} from './protocol/index.ts';
