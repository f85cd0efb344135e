import { describe, expect, it } from 'vitest';
import { assignHubs, servesFromStream, stampsEvents } from '../../src/bus/hub-roles.ts';
import { Hub } from '../../src/hub/hub.ts';

const options = { history: { size: 10, ageMs: 60_000 }, headlineCount: 5 };

describe('which hub stamps and which serves', () => {
  it.each([
    [undefined, 'the persisted hub', 'the persisted hub', false],
    ['ingest', 'the persisted hub', 'the persisted hub', false],
    ['edge', 'the persisted hub', 'none', true],
    ['all', 'a second hub', 'the persisted hub', true],
  ] as const)('role %s: serves from %s, stamps with %s', (role, served, stamping, fromStream) => {
    const persisted = new Hub(options);
    const second = new Hub(options);
    const hubs = assignHubs(role, persisted, () => second);
    const name = (hub: Hub | undefined) =>
      hub === persisted ? 'the persisted hub' : hub === second ? 'a second hub' : 'none';
    expect([name(hubs.served), name(hubs.stamping)]).toEqual([served, stamping]);
    expect(servesFromStream(hubs)).toBe(fromStream);
    expect(stampsEvents(role)).toBe(hubs.stamping !== undefined);
    persisted.close();
    second.close();
  });
});
