/**
 * The wire contract (docs/protocol.md, version 1). Its one source is the zod module in the
 * client package (`client/protocol/`), which the server, the client library and the widget
 * share; this re-export keeps the server's imports in one place.
 */
export * from '../../client/protocol/index.ts';
