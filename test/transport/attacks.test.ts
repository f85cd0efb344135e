import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, waitFor } from '../helpers.ts';
import { spawnTickstream, type ServerChild } from '../server-child.ts';
import { closeFrameIn, rawClient, rawFrame, sendAndWaitClose } from './raw-frames.ts';

/** The process answers /healthz: it is alive and its event loop turns. */
const healthy = async (port: number) => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;

// The attacks of issue 14 against a real server process: each one used to end it.
describe('a stranger cannot end the process', () => {
  let server: ServerChild;
  let url: string;
  beforeAll(async () => {
    server = await spawnTickstream('serve', [
      ...['--feed', fixturePath('two-frames.txt'), '--speed', '0', '--port', '0', '--host', '127.0.0.1'],
      ...['--auth-token', 'T', '--allow-origin', 'http://ok.example'],
    ]);
    url = `ws://127.0.0.1:${server.port}/ws`;
  });
  afterAll(() => server.stop());

  it('survives a refused client that sends an unmasked frame', async () => {
    const { socket } = await rawClient(url);
    await sendAndWaitClose(socket, rawFrame({ opcode: 1, payload: Buffer.from('hi'), masked: false }));
    expect(await healthy(server.port)).toBe(true);
  });

  it('survives a refused client that sends a reserved opcode', async () => {
    const { socket } = await rawClient(url);
    await sendAndWaitClose(socket, rawFrame({ opcode: 3 }));
    expect(await healthy(server.port)).toBe(true);
  });

  it('survives a long non-ASCII Origin echoed in the close reason', async () => {
    const client = await rawClient(`${url}?token=T`, { Origin: `http://${'é'.repeat(200)}.example` });
    const closed = await waitFor(() => closeFrameIn(client.received()), 'the close frame');
    client.socket.destroy();
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^origin http:\/\/.*…$/);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
    expect(await healthy(server.port)).toBe(true);
  });

  it('never reaches the process-level fatal handlers', () => {
    expect(server.child.exitCode).toBe(null);
    expect(server.logs().filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});
