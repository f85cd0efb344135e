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
