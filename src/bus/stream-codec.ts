import type { Logger } from 'pino';
import { BarLogRef } from '../hub/bar-log-copy.ts';
import {
  hubMessageProblem,
  schemaProblem,
  type HubMessage,
  type StatusMessage,
} from '../protocol/messages.ts';
import type { BusMetrics } from './bus-metrics.ts';
import type { ClusterState } from './redis-store.ts';

/**
 * What the bus writes to Redis and reads back, in one place: stream entry ids (`<gen>-<seq>`,
 * which the publish script in publish-script.ts also builds), the event and status entries and
 * the state key. Every reader decodes through here, and a malformed value is a `problem`, never
 * a throw, reported by {@link badEntryReporter}.
 */

/** A stream entry as ioredis returns it (RESP2): its id and its field/value list. */
export type StreamEntry = [id: string, fields: string[]];

/** The field of an event entry (the message JSON) and of a status entry. */
export const EVENT_FIELD = 'm';
export const STATUS_FIELD = 's';

/** A decoded value, or why it could not be decoded. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; problem: string };

const bad = (problem: string): { ok: false; problem: string } => ({ ok: false, problem });

/** A stream entry id from an epoch number and a seq. */
export const entryId = (gen: number, seq: number): string => `${gen}-${seq}`;

/** The epoch number and seq of a stream entry id; undefined for an id the bus did not write. */
export const parseEntryId = (id: string): { gen: number; seq: number } | undefined => {
  const match = /^(\d+)-(\d+)$/.exec(id);
  return match ? { gen: Number(match[1]), seq: Number(match[2]) } : undefined;
};

/** The value of field `name` (fields and values alternate, so only even places are names). */
const field = (fields: readonly string[], name: string): string | undefined => {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
};

const parseJson = (text: string): Decoded<unknown> => {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return bad(`not JSON: ${(err as Error).message}`);
  }
};

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

/** An event entry: its epoch number and the hub event, whose seq must be the id's. */
export const decodeEvent = ([id, fields]: StreamEntry): Decoded<{ gen: number; message: HubMessage }> => {
  const at = parseEntryId(id);
  if (!at) return bad(`entry ${id} has an id the bus never writes`);
  const json = field(fields, EVENT_FIELD);
  if (json === undefined) return bad(`entry ${id} has no "${EVENT_FIELD}" field`);
  const parsed = parseJson(json);
  if (!parsed.ok) return bad(`entry ${id} is ${parsed.problem}`);
  const message = parsed.value;
  if (!isObject(message) || message.seq !== at.seq)
    return bad(`entry ${id} holds seq ${isObject(message) ? String(message.seq) : 'none'}`);
  // The hub folds a quote's price into bars and holds a bars event's bars: checked whole.
  const problem = hubMessageProblem(message);
  if (problem !== undefined) return bad(`entry ${id} is not a hub event: ${problem}`);
  return { ok: true, value: { gen: at.gen, message: message as HubMessage } };
};

/** A status entry's message. */
export const decodeStatus = ([id, fields]: StreamEntry): Decoded<StatusMessage> => {
  const json = field(fields, STATUS_FIELD);
  if (json === undefined) return bad(`status entry ${id} has no "${STATUS_FIELD}" field`);
  const parsed = parseJson(json);
  if (!parsed.ok) return bad(`status entry ${id} is ${parsed.problem}`);
  const status = parsed.value;
  if (!isObject(status) || status.type !== 'status') return bad(`status entry ${id} is not a status`);
  return { ok: true, value: status as unknown as StatusMessage };
};

/** The state key's value. */
export const decodeClusterState = (json: string): Decoded<ClusterState> => {
  const parsed = parseJson(json);
  if (!parsed.ok) return bad(`the cluster state is ${parsed.problem}`);
  const s = parsed.value;
  if (
    !isObject(s) ||
    !Number.isInteger(s.gen) ||
    typeof s.epoch !== 'string' ||
    !Number.isInteger(s.seq) ||
    !Array.isArray(s.quotes) ||
    !Array.isArray(s.headlines)
  )
    return bad('the cluster state lacks gen, epoch, seq, quotes or headlines');
  const logProblem = s.barLog === undefined ? undefined : schemaProblem(BarLogRef, s.barLog);
  if (logProblem !== undefined) return bad(`the cluster state's bar log reference is wrong: ${logProblem}`);
  return { ok: true, value: s as unknown as ClusterState };
};

/** The state key's value, as {@link decodeClusterState} reads it. */
export const encodeClusterState = (state: ClusterState): string => JSON.stringify(state);

/** A status entry's value, as {@link decodeStatus} reads it. */
export const encodeStatus = (status: StatusMessage): string => JSON.stringify(status);

/** Hears of a value that could not be decoded. */
export type BadEntryReport = (problem: string) => void;

/** The one way a malformed entry is reported: logged as an error and counted on `/metrics`. */
export const badEntryReporter =
  (log: Logger, metrics: Pick<BusMetrics, 'badEntries'>): BadEntryReport =>
  (problem) => {
    metrics.badEntries.inc();
    log.error({ problem }, 'unreadable Redis entry');
  };
