import { createServer, type AddressInfo } from 'node:net';

/** A port nothing listens on right now, on 127.0.0.1 (for servers that cannot take port 0). */
export const freePort = async (): Promise<number> => {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
};
