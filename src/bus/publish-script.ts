import type { Redis } from 'ioredis';
import type { BarLogWrite } from '../hub/bar-log-copy.ts';
import { LOG_ID_FIELD, newLogKey, pieceField, PIECES_PER_COMMAND, type BusKeys } from './redis-store.ts';
import { EVENT_FIELD, STATUS_FIELD } from './stream-codec.ts';

/** How many status changes the status stream keeps: edges only ever need the latest. */
const STATUS_MAXLEN = 100;

// One script, so the lease check and every write are one atomic step: an ingest that lost its
// lease (frozen past it while another took over) writes nothing, not even its snapshot. The
// stream must continue exactly (its head is the event before the first one sent), unless the
// caller allows a gap it cannot fill (its history no longer holds the events) and sends a
// snapshot as of its last event, which covers it. Every check comes
// before the first write, so a refused call (maxmemory, a read-only replica) leaves no half.
// Entry ids and fields are the ones stream-codec.ts reads (`<gen>-<seq>`, EVENT_FIELD, STATUS_FIELD).
// The bar log's pieces are written before (PIECES, below): the script checks that the log holds
// each one the snapshot adds, and a new log, written aside under its own key, takes the log's
// place (UNLINK frees the old one off Redis's main thread).
// redis.replicate_commands: Redis 5 refuses writes after a non-deterministic XADD '*' without it.
const PUBLISH = `
redis.replicate_commands()
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {'fenced', holder} end
local top = 0
if redis.call('EXISTS', KEYS[2]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[2])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      local gen, seq = string.match(info[i + 1], '^(%d+)-(%d+)$')
      if gen == ARGV[3] then top = tonumber(seq)
      elseif tonumber(gen) > tonumber(ARGV[3]) then return {'superseded', info[i + 1]} end
    end
  end
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
if snapshot and tonumber(ARGV[6]) ~= last then return {'at', tostring(top)} end
if n > 0 and (first <= top or (first > top + 1 and not (snapshot and gap))) then return {'at', tostring(top)} end
if not snapshot and redis.call('EXISTS', KEYS[3]) == 0 then return {'nostate', tostring(top)} end
local log = KEYS[5]
if barMode == 'reset' then log = KEYS[6] end
if barMode ~= '' then
  if redis.call('HGET', log, '${LOG_ID_FIELD}') ~= ARGV[11] then return {'nostate', tostring(top)} end
  for i = 14, 13 + nset do
    if redis.call('HEXISTS', log, ARGV[i]) == 0 then return {'nostate', tostring(top)} end
  end
end
for i = 1, n do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], ARGV[3] .. '-' .. (first + i - 1), '${EVENT_FIELD}', ARGV[firstEvent + i - 1])
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
  events: string[];
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
  tickstreamPublish(...args: (string | number)[]): Promise<[string, string]>;
};

/** Sends one publish as a single script (EVALSHA, falling back to EVAL when Redis lost it). */
export const publish = async (redis: Redis, keys: BusKeys, call: PublishCall): Promise<PublishReply> => {
  const scripted = redis as Scripted;
  if (typeof scripted.tickstreamPublish !== 'function')
    redis.defineCommand('tickstreamPublish', { numberOfKeys: 6, lua: PUBLISH });
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

/** How long a new log written aside outlives its last batch, unless a publish takes it. */
const NEW_LOG_TTL_MS = 60_000;

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
      NEW_LOG_TTL_MS,
      ...batch,
    );
    answered();
    if (!taken) return;
  }
};
