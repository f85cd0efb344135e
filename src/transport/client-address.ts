import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { TickstreamError } from '../errors.ts';

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is `10.0.0.1`. */
export const plain = (address: string): string =>
  address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;

const family = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** Whether `address` (plain) is one of the trusted proxies. */
export const isTrustedProxy = (address: string, trusted: BlockList | undefined): boolean =>
  trusted?.check(address, family(address)) === true;

/**
 * The proxies whose word about the client is taken: addresses and CIDRs (`10.0.0.0/8`,
 * `::1`, `fd00::/8`). A bad entry fails with the flag's name.
 */
export const trustedProxies = (entries: readonly string[]): BlockList | undefined => {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits, extra] = entry.split('/');
    const kind = isIP(address);
    const prefix = bits === undefined ? undefined : Number(bits);
    const max = kind === 6 ? 128 : 32;
    if (kind === 0 || extra !== undefined || (prefix !== undefined && (!/^\d+$/.test(bits!) || prefix > max)))
      throw new TickstreamError(
        'bad_config',
        `--trust-proxy: "${entry}" is not an address or CIDR (like 10.0.0.1, 10.0.0.0/8 or fd00::/8)`,
      );
    if (prefix === undefined) list.addAddress(address, family(address));
    else list.addSubnet(address, prefix, family(address));
  }
  return list;
};

/** The `for=` values of a `Forwarded` header (RFC 7239), nearest proxy last. */
const forwardedFor = (header: string): string[] =>
  header.split(',').flatMap((element) => {
    const pair = element
      .split(';')
      .map((p) => p.trim())
      .find((p) => p.toLowerCase().startsWith('for='));
    if (pair === undefined) return [];
    // for="[2001:db8::1]:4711" or for=192.0.2.60:8080 or for=192.0.2.60
    const value = pair.slice(4).replace(/^"|"$/g, '');
    const v6 = /^\[([^\]]+)\]/.exec(value);
    return [v6 ? v6[1]! : value.replace(/:\d+$/, '')];
  });

const headerText = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value.join(',') : value;

/**
 * The address a request comes from: the socket's peer, or, when the peer is a trusted proxy,
 * the right-most address in `X-Forwarded-For` (else `Forwarded`) that is not itself a trusted
 * proxy: everything left of it was written by the client and proves nothing. Every
 * per-address limit and log line uses this.
 */
export const clientAddress = (req: IncomingMessage, trusted: BlockList | undefined): string => {
  const peer = plain(req.socket.remoteAddress ?? '');
  const isTrusted = (address: string) => isTrustedProxy(address, trusted);
  if (!trusted || peer === '' || !isTrusted(peer)) return peer;
  const xff = headerText(req.headers['x-forwarded-for']);
  const forwarded = headerText(req.headers.forwarded);
  const chain =
    xff !== undefined
      ? xff.split(',').map((s) => s.trim())
      : forwarded !== undefined
        ? forwardedFor(forwarded)
        : [];
  let client = peer;
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = plain(chain[i]!);
    // A hop that is not an address (garbage, "unknown", a cut header) ends the chain of trust.
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!isTrusted(hop)) return hop;
  }
  return client;
};
