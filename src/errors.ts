/** A fatal error with a stable code: bad configuration, an unreadable feed, a port in use. */
export class TickstreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TickstreamError';
  }
}
