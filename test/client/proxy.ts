import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP relay between a client and a real server, so a test can cut the network under a
 * live connection (`drop`), refuse new ones (`refuse`), or go silent without a close
 * (`freeze`): the failures a client library has to survive.
 */
export class FlakyProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly frozen = new WeakSet<[Socket, Socket]>();
  private refusing = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Starts relaying 127.0.0.1:<ephemeral> to `targetPort`. */
  static async start(targetPort: number): Promise<FlakyProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new FlakyProxy(server, (server.address() as AddressInfo).port);
    server.on('connection', (inbound) => proxy.accept(inbound, targetPort));
    return proxy;
  }

  /** A WebSocket URL through the proxy. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  private accept(inbound: Socket, targetPort: number): void {
    if (this.refusing) return void inbound.destroy();
    const outbound = tcpConnect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [inbound, outbound];
    this.pairs.add(pair);
    const relay = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => {
        if (!this.frozen.has(pair)) to.write(chunk);
      });
      // A frozen link tells the client nothing, not even that the server hung up.
      from.on('close', () => {
        this.pairs.delete(pair);
        if (!(this.frozen.has(pair) && from === outbound)) to.destroy();
      });
      from.on('error', () => {});
    };
    relay(inbound, outbound);
    relay(outbound, inbound);
  }

  /** Cuts every relayed connection; with `refuse`, new ones are cut at once until `restore()`. */
  drop({ refuse = false } = {}): void {
    this.refusing = refuse;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  /** Stops relaying bytes on the open connections, without closing them; new ones relay. */
  freeze(): void {
    for (const pair of this.pairs) this.frozen.add(pair);
  }

  /** Accepts new connections again after `drop({ refuse: true })`. */
  restore(): void {
    this.refusing = false;
  }

  /** Cuts everything and stops listening. */
  async close(): Promise<void> {
    this.drop({ refuse: true });
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
