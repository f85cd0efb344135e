/**
 * `npx tsx bench/edge-reload.ts [--events N --rounds N]`: how long an edge reloading the cluster
 * (at start, and on every resync) holds its event loop, which serves its clients meanwhile. A
 * Redis of its own holds `--events` quote events (default 100,000: `--bus-maxlen`'s and
 * `--history-size`'s default) and a snapshot; this process loads them as an edge does
 * (`loadCluster`, then `restoreCluster`) beside the way it did (the peer: the stream's newest
 * events in one XREVRANGE, checked at once, and the restore putting the history into the hub
 * in its own turn), `--rounds` times each in turn (default 2). Prints each load's wall time and
 * the longest turn of the loop meanwhile (a `setImmediate` ticker).
 */
import { busKeys, loadCluster, restoreCluster } from '../src/bus/redis-store.ts';
import {
  decodeClusterState,
  decodeEvent,
  encodeClusterState,
  entryId,
  type StreamEntry,
} from '../src/bus/stream-codec.ts';
import { eventJson } from '../src/hub/event-json.ts';
import { Hub } from '../src/hub/hub.ts';
import type { HubMessage } from '../src/protocol/messages.ts';
import { startRedis } from '../test/bus/redis-server.ts';
import { eventsAndRounds, fullHistoryHub, fullHistoryLimits } from './full-history.ts';
import { withTicker } from './loop-turns.ts';

const { events, rounds } = eventsAndRounds(2);
const LIMITS = fullHistoryLimits(events);
const ingest = fullHistoryHub(events);

/** The wall time of `work` and the longest turn of the loop meanwhile. */
const timed = async (work: () => Promise<void>): Promise<string> => {
  const { ms, longest } = await withTicker(work);
  return `${ms.toFixed(0).padStart(6)} ms; longest turn ${longest.toFixed(0).padStart(5)} ms`;
};

const redis = await startRedis();
try {
  const admin = redis.admin();
  const keys = busKeys('bench');
  const held = ingest.exportState();
  for (let i = 0; i < held.history.length; i += 1000) {
    const batch = admin.pipeline();
    for (const m of held.history.slice(i, i + 1000))
      batch.xadd(keys.events, entryId(1, m.seq), 'm', eventJson(m));
    await batch.exec();
  }
  const { epoch, seq, quotes, headlines, bars, barSeqs } = held;
  await admin.set(keys.state, encodeClusterState({ gen: 1, epoch, seq, quotes, headlines, bars, barSeqs }));
  console.log(`${held.history.length.toLocaleString('en')} events in the stream, ${quotes.length} quotes`);
  const report = (problem: string) => {
    throw new Error(problem);
  };
  /** As the edge loaded before: one reply of every event, checked and put in one turn each. */
  const before = async () => {
    const [state, newest] = await Promise.all([
      admin.get(keys.state),
      admin.xrevrange(keys.events, '+', '-', 'COUNT', events) as Promise<StreamEntry[]>,
    ]);
    const decoded = decodeClusterState(state!);
    if (!decoded.ok) report(decoded.problem);
    const history: HubMessage[] = [];
    for (const entry of newest.reverse()) {
      const event = decodeEvent(entry);
      if (!event.ok) report(event.problem);
      else history.push(event.value.message);
    }
    new Hub(LIMITS).restore({ ...(decoded.ok ? decoded.value : held), history });
  };
  const now = async () => {
    const loaded = await loadCluster(admin, keys, LIMITS, report);
    restoreCluster(new Hub(LIMITS), loaded.cluster!);
  };
  for (let r = 0; r < rounds; r++) {
    console.log(`one reply, one turn each (before)  ${await timed(before)}`);
    console.log(`a page a command, a step a turn    ${await timed(now)}`);
  }
} finally {
  await redis.stop();
}
