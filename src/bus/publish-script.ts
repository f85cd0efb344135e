import type { Redis } from 'ioredis';
import type { BarLogWrite } from '../hub/bar-log-copy.ts';
import {
  LOG_ID_FIELD,
  newLogKey,
  nextStreamKey,
  pieceField,
  PIECES_PER_COMMAND,
  type BusKeys,
} from './redis-store.ts';
import { EVENT_FIELD, STATUS_FIELD } from './stream-codec.ts';

/** How many status changes the status stream keeps: edges only ever need the latest. */
const STATUS_MAXLEN = 100;

// The seq of a stream's last entry of epoch number `gen` (0 when it has none, or an older
// epoch's), and the last id when it is a newer epoch's.
const STREAM_HEAD = `
local function head(key, gen)
  if redis.call('EXISTS', key) == 0 then return 0 end
  local info = redis.call('XINFO', 'STREAM', key)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      local g, seq = string.match(info[i + 1], '^(%d+)-(%d+)$')
      if g == gen then return tonumber(seq) end
      if tonumber(g) > tonumber(gen) then return 0, info[i + 1] end
    end
  end
  return 0
end`;

// One script, so the lease check and every write are one atomic step: an ingest that lost its
// lease (frozen past it while another took over) writes nothing, not even its snapshot. The
// stream must continue exactly (its head is the event before the first one sent), unless the
// caller allows a gap it cannot fill (its history no longer holds the events) and sends a
// snapshot as of its last event, which covers it. Every check comes
// before the first write, so a refused call (maxmemory, a read-only replica) leaves no half.
// Entry ids and fields are the ones stream-codec.ts reads (`<gen>-<seq>`, EVENT_FIELD, STATUS_FIELD).
// The bar log's pieces are written before (PIECES, below): the script checks that the log holds
// each one the snapshot adds, and a new log, written aside under its own key, takes the log's
// place (UNLINK frees the old one off Redis's main thread). So do the events of a long publish
// (EVENTS, below): written ahead onto the stream when they continue it, else into a stream of
// their own (KEYS[7]) that this script, with the snapshot that covers the gap, renames into place.
// redis.replicate_commands: Redis 5 refuses writes after a non-deterministic XADD '*' without it.
const PUBLISH = `
redis.replicate_commands()
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {'fenced', holder} end
${STREAM_HEAD}
local top, newer = head(KEYS[2], ARGV[3])
if newer then return {'superseded', newer} end
-- Where the stream stands, which a refusal reports, whichever stream the events continue.
local at = tostring(top)
local stream = KEYS[2]
local staged = KEYS[7] ~= KEYS[2]
if staged then
  if ARGV[5] == '' or ARGV[9] ~= '1' or redis.call('EXISTS', KEYS[7]) == 0 then return {'at', at} end
  stream = KEYS[7]
  top = head(stream, ARGV[3])
end
local barMode = ARGV[10]
local nset = tonumber(ARGV[12])
local ndel = tonumber(ARGV[13])
local n = #ARGV - 13 - nset - ndel
local firstEvent = 14 + nset + ndel
local first = tonumber(ARGV[8])
local gap = ARGV[9] == '1'
local last = top
if n > 0 then last = first + n - 1 end
local snapshot = ARGV[5] ~= ''
if snapshot and tonumber(ARGV[6]) ~= last then return {'at', at} end
if n > 0 and (first <= top or (first > top + 1 and (staged or not (snapshot and gap)))) then return {'at', at} end
if not snapshot and redis.call('EXISTS', KEYS[3]) == 0 then return {'nostate', at} end
local log = KEYS[5]
if barMode == 'reset' then log = KEYS[6] end
if barMode ~= '' then
  if redis.call('HGET', log, '${LOG_ID_FIELD}') ~= ARGV[11] then return {'nostate', at} end
  for i = 14, 13 + nset do
    if redis.call('HEXISTS', log, ARGV[i]) == 0 then return {'nostate', at} end
  end
end
for i = 1, n do
  redis.call('XADD', stream, 'MAXLEN', '~', ARGV[4], ARGV[3] .. '-' .. (first + i - 1), '${EVENT_FIELD}', ARGV[firstEvent + i - 1])
end
if staged then
  redis.call('UNLINK', KEYS[2])
  redis.call('RENAME', stream, KEYS[2])
  redis.call('PERSIST', KEYS[2])
end
if barMode == 'reset' then
  redis.call('UNLINK', KEYS[5])
  redis.call('RENAME', KEYS[6], KEYS[5])
  redis.call('PERSIST', KEYS[5])
end
for i = 14 + nset, 13 + nset + ndel do redis.call('HDEL', KEYS[5], ARGV[i]) end
if snapshot then redis.call('SET', KEYS[3], ARGV[5]) end
if ARGV[7] ~= '' then redis.call('XADD', KEYS[4], 'MAXLEN', '~', ${STATUS_MAXLEN}, '*', '${STATUS_FIELD}', ARGV[7]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'ok', tostring(last)}`;

/** One publish: consecutive events from `firstSeq`, and optionally the snapshot and a status. */
export interface PublishCall {
  /** The lease holder token this ingest writes under. */
  holder: string;
  leaseMs: number;
  gen: number;
  maxLen: number;
  /** The snapshot as JSON, as of `snapshotSeq`, which must be the last event sent (or the stream head). */
  snapshot?: { json: string; seq: number };
  /**
   * What the snapshot's bar log gained (with a snapshot only), its pieces written before by
   * {@link writeBarPieces}: refused as `nostate` unless Redis holds the copy it extends and each
   * of them.
   */
  bars?: Pick<BarLogWrite, 'reset' | 'id' | 'pieces' | 'dropped'>;
  status?: string;
  firstSeq: number;
  /** Whether the stream may end before `firstSeq - 1` (the snapshot covers what is missing). */
  gap?: boolean;
  /** The events' JSON, seqs `firstSeq`, `firstSeq + 1`, … */
  events: (string | Buffer)[];
  /**
   * Whether the events before `firstSeq` were written ahead into a stream of their own
   * ({@link writeEventsAhead}, `into: 'next'`), which this publish puts in the stream's place:
   * with a snapshot and `gap` only.
   */
  staged?: boolean;
}

/**
 * What Redis answered: written (`ok`, the stream head now); the stream does not continue at
 * `firstSeq` (`at`: its head, so the caller sends what follows it); no snapshot there (`nostate`);
 * another ingest holds the lease (`fenced`) or the stream is a newer epoch's (`superseded`).
 */
export type PublishReply =
  | { kind: 'ok'; seq: number }
  | { kind: 'at' | 'nostate'; seq: number }
  | { kind: 'fenced' | 'superseded'; by: string };

type Scripted = Redis & {
  tickstreamPublish(...args: (string | number | Buffer)[]): Promise<[string, string]>;
};

/** Sends one publish as a single script (EVALSHA, falling back to EVAL when Redis lost it). */
export const publish = async (redis: Redis, keys: BusKeys, call: PublishCall): Promise<PublishReply> => {
  const scripted = redis as Scripted;
  if (typeof scripted.tickstreamPublish !== 'function')
    redis.defineCommand('tickstreamPublish', { numberOfKeys: 7, lua: PUBLISH });
  const bars = call.snapshot && call.bars;
  const set = bars?.pieces.map(({ day, k }) => pieceField(day, k)) ?? [];
  const del =
    bars?.dropped.flatMap(({ day, pieces }) =>
      Array.from({ length: pieces }, (_, k) => pieceField(day, k)),
    ) ?? [];
  const [kind, value] = await scripted.tickstreamPublish(
    keys.ingest,
    keys.events,
    keys.state,
    keys.status,
    keys.bars,
    bars ? newLogKey(keys, bars.id) : keys.bars,
    call.staged ? nextStreamKey(keys) : keys.events,
    call.holder,
    call.leaseMs,
    String(call.gen),
    call.maxLen,
    call.snapshot?.json ?? '',
    call.snapshot?.seq ?? 0,
    call.status ?? '',
    call.firstSeq,
    call.gap ? '1' : '0',
    bars ? (bars.reset ? 'reset' : 'add') : '',
    bars?.id ?? '',
    set.length,
    del.length,
    ...set,
    ...del,
    ...call.events,
  );
  return kind === 'fenced' || kind === 'superseded'
    ? { kind, by: value }
    : kind === 'ok'
      ? { kind, seq: Number(value) }
      : { kind: kind as 'at' | 'nostate', seq: Number(value) };
};

// One batch of a bar log write's pieces, fenced like a publish: into the log itself when the
// write extends it (and Redis holds that log), else into the new log's own key, which expires
// unless a publish puts it in the log's place.
const PIECES = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
if ARGV[3] == 'reset' then
  redis.call('HSET', KEYS[2], '${LOG_ID_FIELD}', ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
elseif redis.call('HGET', KEYS[2], '${LOG_ID_FIELD}') ~= ARGV[2] then return 0 end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1`;

/** How long a new bar log or next stream outlives its last batch, unless a publish takes it. */
const ASIDE_TTL_MS = 60_000;

type PieceScripted = Redis & {
  tickstreamPieces(...args: (string | number)[]): Promise<number>;
};

/**
 * Writes the pieces of `write` ahead of the publish that names them, a few a command, each
 * encoded in a turn of its own: a new log of days of bars is hundreds of MB and seconds of
 * encoding, which in one command held both the ingest and Redis. Pieces under an id no state
 * names yet are read by no one. Stops early, leaving the publish to say why, when Redis would
 * not take a batch (another ingest's lease, or not the log this write extends).
 */
export const writeBarPieces = async (
  redis: Redis,
  keys: BusKeys,
  holder: string,
  write: Pick<BarLogWrite, 'reset' | 'id' | 'pieces' | 'text'>,
  /** Hears of each command Redis answered. */
  answered: () => void = () => {},
): Promise<void> => {
  const scripted = redis as PieceScripted;
  if (typeof scripted.tickstreamPieces !== 'function')
    redis.defineCommand('tickstreamPieces', { numberOfKeys: 2, lua: PIECES });
  const key = write.reset ? newLogKey(keys, write.id) : keys.bars;
  // A new log is written even with no piece: the publish finds it by its id.
  for (let i = 0; i < write.pieces.length || (i === 0 && write.reset); i += PIECES_PER_COMMAND) {
    const batch: string[] = [];
    for (const piece of write.pieces.slice(i, i + PIECES_PER_COMMAND)) {
      if (batch.length > 0) await new Promise((resolve) => setImmediate(resolve));
      batch.push(pieceField(piece.day, piece.k), write.text(piece));
    }
    const mode = write.reset ? 'reset' : 'add';
    const taken = await scripted.tickstreamPieces(
      keys.ingest,
      key,
      holder,
      write.id,
      mode,
      ASIDE_TTL_MS,
      ...batch,
    );
    answered();
    if (!taken) return;
  }
};

// One batch of a publish's events written ahead of it, fenced like a publish: onto the stream
// when they continue it, or into the next stream (a fresh one with the first batch), which
// expires unless the publish that carries the snapshot renames it into place.
const EVENTS = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
${STREAM_HEAD}
local fresh = ARGV[4] == 'next' and ARGV[6] == '1'
if fresh then redis.call('UNLINK', KEYS[2]) end
local top, newer = head(KEYS[2], ARGV[2])
local first = tonumber(ARGV[3])
if newer or (first ~= top + 1 and not fresh) then return 0 end
for i = 7, #ARGV do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], ARGV[2] .. '-' .. (first + i - 7), '${EVENT_FIELD}', ARGV[i])
end
if ARGV[4] == 'next' then redis.call('PEXPIRE', KEYS[2], ${ASIDE_TTL_MS}) end
return 1`;

/** Events per command written ahead of a publish, and the most a publish carries itself. */
export const EVENTS_PER_COMMAND = 5000;

type EventsScripted = Redis & {
  tickstreamEvents(...args: (string | number | Buffer)[]): Promise<number>;
};

/** Where events go ahead of their publish: onto the stream, or into the next one. */
export type AheadInto = 'stream' | 'next';

/**
 * Writes `events` (seqs from `firstSeq`) ahead of the publish that sends the ones after them,
 * a command each {@link EVENTS_PER_COMMAND}, each batch encoded in a turn of its own: a publish
 * of a whole history (re-seeding an empty Redis) held the ingest and Redis for about as long as
 * encoding and adding 100,000 entries took. Returns how many Redis took; it stops at the first
 * batch it refuses (another ingest's lease, or the events do not continue the stream), leaving
 * the publish to say why.
 */
export const writeEventsAhead = async <T>(
  redis: Redis,
  keys: BusKeys,
  write: { holder: string; gen: number; maxLen: number; into: AheadInto; firstSeq: number },
  events: readonly T[],
  json: (event: T) => string | Buffer,
  /** Hears of each command Redis answered. */
  answered: () => void = () => {},
): Promise<number> => {
  const scripted = redis as EventsScripted;
  if (typeof scripted.tickstreamEvents !== 'function')
    redis.defineCommand('tickstreamEvents', { numberOfKeys: 2, lua: EVENTS });
  const key = write.into === 'next' ? nextStreamKey(keys) : keys.events;
  for (let i = 0; i < events.length; i += EVENTS_PER_COMMAND) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    const batch: (string | Buffer)[] = [];
    for (const event of events.slice(i, i + EVENTS_PER_COMMAND)) batch.push(json(event));
    const taken = await scripted.tickstreamEvents(
      keys.ingest,
      key,
      write.holder,
      String(write.gen),
      write.firstSeq + i,
      write.into,
      write.maxLen,
      i === 0 ? '1' : '0',
      ...batch,
    );
    answered();
    if (!taken) return i;
  }
  return events.length;
};
