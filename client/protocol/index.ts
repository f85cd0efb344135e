/**
 * The tickstream wire protocol, version 1 (docs/protocol.md): zod schemas for every message
 * in both directions, the one source of the TypeScript types (`z.infer`), of the server's and
 * the client's validation, and of the JSON Schemas in `schema/`. Built on `zod/mini`, so a
 * browser bundle carries only the checks it uses.
 */
export * from './model.ts';
export * from './requests.ts';
export * from './server-messages.ts';
export * from './symbols.ts';
export { validateServerMessage, type MessageCheck } from './validate.ts';

/** Close codes the server uses beyond the standard ones. */
export const CloseCode = {
  goingAway: 1001,
  policy: 1008,
  tooLarge: 1009,
  /** The server's state was replaced (an edge resynced): reconnect and resume. */
  serviceRestart: 1012,
  /**
   * Refused for now (the server full, too many connections or connects from the address, or
   * shutting down): reconnect with backoff, unlike a policy refusal, which holds.
   */
  tryAgainLater: 1013,
  slowConsumer: 4008,
} as const;
