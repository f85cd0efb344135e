import { TickstreamError } from '../errors.ts';
import type { Hub } from '../hub/hub.ts';
import type { BusRole } from './options.ts';

/**
 * Which hub stamps events and which serves clients: the one decision `serve` and the bus
 * both act on. The stamping hub is the one the source feeds; on a bus it is also the one
 * published. A served hub that is not the stamping hub follows the Redis stream.
 */
export interface HubRoles {
  /** The hub clients are served from. */
  served: Hub;
  /** The hub the source feeds and that numbers its events; none on an edge, which reads no feed. */
  stamping: Hub | undefined;
}

/** Whether a process running as `role` (undefined: no bus) stamps events, and so reads a feed. */
export const stampsEvents = (role: BusRole | undefined): boolean => role !== 'edge';

/**
 * Refuses a data directory on an edge: the directory keeps the hub that stamps events, so that
 * its epoch and seq go on, and an edge stamps none. It takes its state from Redis at every start
 * and reload, and a data directory would only write that state (days of bars) whole again at
 * each reload, the edge's loop held meanwhile.
 */
export const checkDataDir = (role: BusRole | undefined, dataDir: string | undefined): void => {
  if (dataDir !== undefined && !stampsEvents(role))
    throw new TickstreamError(
      'bad_config',
      '--data-dir keeps the state of a process that stamps events (--role ingest or all); an edge takes its state from Redis',
    );
};

/**
 * Assigns the roles for a process running as `role` (undefined: no bus). The persisted hub
 * (the one a data dir restores) stamps whenever this process stamps, so its epoch and seq go
 * on; with role `all` the served hub is a second one that follows the stream like any edge's,
 * so its clients never see an event Redis does not hold.
 */
export const assignHubs = (role: BusRole | undefined, persisted: Hub, newHub: () => Hub): HubRoles => {
  if (!stampsEvents(role)) return { served: persisted, stamping: undefined };
  return { served: role === 'all' ? newHub() : persisted, stamping: persisted };
};

/** Whether the served hub is fed from the Redis stream rather than stamping its own events. */
export const servesFromStream = ({ served, stamping }: HubRoles): boolean => served !== stamping;
