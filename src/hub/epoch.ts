import { randomBytes } from 'node:crypto';

/** A new epoch id: time-ordered and unique, so two server starts never share one. */
export const newEpoch = (now = Date.now()): string => `${now.toString(36)}-${randomBytes(4).toString('hex')}`;
