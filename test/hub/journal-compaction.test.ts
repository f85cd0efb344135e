import { closeSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Hub, type HubStateTexts } from '../../src/hub/hub.ts';
import { History } from '../../src/hub/history.ts';
import {
  backgroundDisk,
  blockingDisk,
  compaction,
  runInBackground,
} from '../../src/hub/journal-compaction.ts';
import { runAtOnce } from '../../src/hub/steps.ts';
import { nodeIo } from '../../src/hub/journal-io.ts';
import { tempDirs } from '../temp-dirs.ts';

const newDir = tempDirs('tickstream-compaction-');
const noHistory = new History({ size: 10, ageMs: 1000 }).texts();
const state: HubStateTexts = { epoch: 'e1', seq: 7, quotes: [], headlines: [], history: noHistory };
const line = (seq: number) => `{"at":0,"m":{"type":"headline","seq":${seq}}}\n`;

const hubWithHistory = (events: number): Hub => {
  const hub = new Hub({ history: { size: events, ageMs: 3_600_000 }, headlineCount: 5 });
  for (let i = 1; i <= events; i++)
    hub.apply({
      type: 'quote',
      symbol: `S${i % 50}`,
      ts: '2023-11-09T04:31:00.000Z',
      fields: { kind: 'stock', price: i, change: 0, changePercent: 0, direction: 'unchanged' },
    });
  return hub;
};

describe('the compaction writer', () => {
  it('copies history into the state file as held, decoding and serializing no event', () => {
    const dir = newDir();
    const hub = hubWithHistory(5_000);
    const parse = vi.spyOn(JSON, 'parse');
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      closeSync(runAtOnce(compaction(dir, hub.exportStateTexts(), [], blockingDisk(nodeIo), nodeIo)).fd);
      expect(parse).not.toHaveBeenCalled();
      // The parts beside history, once: not one call per event.
      expect(stringify.mock.calls.length).toBeLessThan(10);
    } finally {
      parse.mockRestore();
      stringify.mockRestore();
    }
    const { history, historyAt, ...rest } = hub.exportState();
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))).toEqual({
      ...rest,
      historyAt,
      history: history.map((m) => ({ ...m })),
    });
  });

  it('blocking: writes the state and a new journal of its header and the held lines', () => {
    const dir = newDir();
    const journal = runAtOnce(compaction(dir, state, [line(8)], blockingDisk(nodeIo), nodeIo));
    closeSync(journal.fd);
    expect(journal).toMatchObject({ lines: 1, unsynced: false });
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))).toMatchObject({ epoch: 'e1', seq: 7 });
    expect(readFileSync(join(dir, 'journal.ndjson.tmp'), 'utf8')).toBe(`{"epoch":"e1","seq":7}\n${line(8)}`);
    expect(readdirSync(dir).sort()).toEqual(['journal.ndjson.tmp', 'state.json']);
  });

  it('background: takes the lines that arrive while it waits, and marks the last ones unsynced', async () => {
    const dir = newDir();
    const held = [line(8)];
    let result: { lines: number; unsynced: boolean; fd: number } | undefined;
    let waits = 0;
    const current = () => {
      // A line arrives during each wait for the disk.
      held.push(line(8 + ++waits));
      return true;
    };
    await runInBackground(compaction(dir, state, held, backgroundDisk, nodeIo), current, (r) => (result = r));
    closeSync(result!.fd);
    expect(result).toMatchObject({ lines: 4, unsynced: true });
    expect(readFileSync(join(dir, 'journal.ndjson.tmp'), 'utf8')).toBe(
      `{"epoch":"e1","seq":7}\n${held.join('')}`,
    );
  });

  it('background: a compaction overtaken while it waits writes nothing and leaves nothing behind', async () => {
    const dir = newDir();
    let done = false;
    await runInBackground(
      compaction(dir, state, [], backgroundDisk, nodeIo),
      () => false,
      () => (done = true),
    );
    expect(done).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
